"""A receiving process for the Sentinel failover test, configured by TIDINGS_URL alone.

python -m tests.cluster.failover_receiver GROUP SECONDS
    joins GROUP with one channel, prints READY, receives until {"type": "stop"} or SECONDS
    pass, then prints DONE + JSON {"got": [n...], "at": [seconds since READY...],
    "moves": failovers followed, "members": group_channels(GROUP) at the end}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from tidings import get_channel_layer


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(group: str, seconds: float) -> None:
    layer = get_channel_layer()  # from TIDINGS_URL (redis+sentinel://...)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    started = time.monotonic()
    out("READY " + json.dumps(channel))
    got: list[int] = []
    at: list[float] = []
    while time.monotonic() - started < seconds:
        try:
            message = await asyncio.wait_for(layer.receive(channel), 1)
        except TimeoutError:
            continue
        if message["type"] == "stop":
            break
        got.append(message["n"])
        at.append(round(time.monotonic() - started, 3))
    members = await layer.group_channels(group)
    moves = sum(w.moves for w in layer.connections._watches.values())
    handover = layer.readers[0].handover
    result = {"got": got, "at": at, "moves": moves, "members": members}
    result |= {"repeats": handover.repeats, "drained": handover.drained}
    out("DONE " + json.dumps(result))
    await layer.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
