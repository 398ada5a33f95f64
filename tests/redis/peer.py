"""A separate OS process on the Redis layer, driven by tests through stdin/stdout.

python -m tests.redis.peer members URL PREFIX GROUP N COUNT
    makes N channels, joins GROUP, prints READY + the names, then receives COUNT
    messages on each channel and prints the result as JSON.
python -m tests.redis.peer worker URL PREFIX CHANNEL SECONDS
    receives from a normal CHANNEL until it sees {"type": "stop"} or SECONDS pass,
    and prints the ids it got as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from tidings.layers.redis import RedisChannelLayer


def make_layer(url: str, prefix: str, **defaults: Any) -> RedisChannelLayer:
    """URL may list several hosts, comma-separated; TIDINGS_TEST_OPTS adds options (JSON)."""
    options = {**defaults, **json.loads(os.environ.get("TIDINGS_TEST_OPTS", "{}"))}
    home = options.pop("home_partition", None)  # a test wants this process homed there
    hosts = [url] if "+cluster://" in url else url.split(",")
    while True:  # a layer holds nothing before its first use: made again until it fits
        layer = RedisChannelLayer(hosts=hosts, prefix=prefix, **options)
        if home is None or layer.keys.partition(layer.instance) == home:
            return layer


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def members(url: str, prefix: str, group: str, n: int, count: int) -> None:
    layer = make_layer(url, prefix, capacity=max(100, count * 2))
    channels = [await layer.new_channel() for _ in range(n)]
    for channel in channels:
        await layer.group_add(group, channel)
    out("READY " + json.dumps(channels))

    async def take(channel: str) -> list[int]:
        got: list[int] = []
        while len(got) < count:
            message = await asyncio.wait_for(layer.receive(channel), 60)
            if message["type"] != "probe":  # tests probe membership; not counted
                got.append(message["i"])
                if "tidings_position" in message:
                    out("POSITION " + json.dumps(message["tidings_position"]))
        return got

    try:
        results = await asyncio.gather(*(take(c) for c in channels))
    except TimeoutError:
        reader = layer.readers[0]
        print("PEER STATS", layer.statistics(), reader.task, reader.epoch, file=sys.stderr)
        raise
    out("RESULT " + json.dumps(dict(zip(channels, results, strict=True))))
    await layer.close()


async def worker(url: str, prefix: str, channel: str, seconds: float) -> None:
    layer = make_layer(url, prefix)
    out("READY []")
    got: list[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            message = await asyncio.wait_for(layer.receive(channel), end - time.monotonic())
        except TimeoutError:
            break
        if message["type"] == "stop":
            break
        got.append(message["i"])
        await asyncio.sleep(0.001)  # let the other worker take some
    out("RESULT " + json.dumps(got))
    await layer.close()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "members":
        asyncio.run(members(args[0], args[1], args[2], int(args[3]), int(args[4])))
    elif role == "worker":
        asyncio.run(worker(args[0], args[1], args[2], float(args[3])))
    else:
        raise SystemExit(f"unknown role {role}")
