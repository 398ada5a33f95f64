"""A benchmark receiver process: ``python -m tidings.bench.worker ROLE LAYER URL PREFIX ...``.

Roles:
  members N SENDS   N channels in group "bench"; each member task receives SENDS messages
                    and records latency (now - message["t"]); stops early after IDLE seconds
                    without a message (a lossy layer never sends them all).
  groups  N         N channels, each alone in group "g<offset+i>"; one message each.
  echo    N         N channels; every message is answered on message["reply"].
Prints "READY <json>" when set up and "RESULT <json>" at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from .peers import make_redis_layer

IDLE = 5.0


def say(tag: str, value: Any) -> None:
    sys.stdout.write(f"{tag} {json.dumps(value)}\n")
    sys.stdout.flush()


async def until_idle(jobs: list[Any], progress: Any) -> None:
    """Run ``jobs`` until all finish or ``progress()`` stops moving for IDLE seconds.

    One watchdog instead of a timeout per receive, which would cost every layer a task
    and a timer per message and blur the comparison.
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    seen, still = -1, time.monotonic()
    while True:
        _, pending = await asyncio.wait(tasks, timeout=0.5)
        if not pending:
            return
        now = progress()
        if now != seen:
            seen, still = now, time.monotonic()
        elif time.monotonic() - still > IDLE:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            return


async def members(layer: Any, n: int, sends: int, group: str) -> None:
    channels = [await layer.new_channel() for _ in range(n)]
    for channel in channels:
        await layer.group_add(group, channel)
    say("READY", len(channels))
    latencies: list[float] = []
    seen: set[tuple[str, int]] = set()
    duplicates = 0
    last = 0.0

    async def member(channel: str) -> None:
        nonlocal duplicates, last
        for _ in range(sends):
            message = await layer.receive(channel)
            now = time.time()
            key = (channel, message["n"])
            if key in seen:
                duplicates += 1
            seen.add(key)
            latencies.append(now - message["t"])
            last = now

    await until_idle([member(c) for c in channels], lambda: len(latencies))
    say(
        "RESULT",
        {
            "received": len(latencies),
            "duplicates": duplicates,
            "last": last,
            "latencies": latencies,
        },
    )


async def groups(layer: Any, n: int, offset: int) -> None:
    channels = [await layer.new_channel() for _ in range(n)]
    for i, channel in enumerate(channels):
        await layer.group_add(f"g{offset + i}", channel)
    say("READY", n)
    got = 0
    last = 0.0

    async def member(channel: str) -> None:
        nonlocal got, last
        await layer.receive(channel)
        got += 1
        last = time.time()

    await until_idle([member(c) for c in channels], lambda: got)
    say("RESULT", {"received": got, "last": last})


async def echo(layer: Any, n: int) -> None:
    channels = [await layer.new_channel() for _ in range(n)]
    say("READY", channels)

    served = 0

    async def serve(channel: str) -> None:
        nonlocal served
        while True:
            message = await layer.receive(channel)
            await layer.send(message["reply"], {"type": "pong", "t": message["t"]})
            served += 1

    await until_idle([serve(c) for c in channels], lambda: served)
    say("RESULT", {})


async def main(argv: list[str]) -> None:
    role, kind, url, prefix, *rest = argv
    layer = make_redis_layer(kind, url, prefix, capacity=1000)
    if role == "members":
        await members(layer, int(rest[0]), int(rest[1]), "bench")
    elif role == "groups":
        await groups(layer, int(rest[0]), int(rest[1]))
    elif role == "echo":
        await echo(layer, int(rest[0]))
    close = getattr(layer, "close_pools", None) or getattr(layer, "flush", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
