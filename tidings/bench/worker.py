"""A benchmark receiver process: ``python -m tidings.bench.worker ROLE LAYER URL PREFIX ...``.

Roles:
  members N SENDS   N channels in group "bench"; each member task receives SENDS messages
                    and records latency (now - message["t"]); stops early after IDLE seconds
                    without a message (a lossy layer never sends them all).
  groups  N         N channels, each alone in group "g<offset+i>"; one message each.
  echo    N         N channels; every message is answered on message["reply"].
  rooms   G M K I W groups "r0".."r<G-1>" of M members each spread over W workers (member
                    j of group g lives in worker (g + j) % W; this is worker I); every
                    member expects K messages and records latency; stops after IDLE.
Prints "READY <json>" when set up and "RESULT <json>" at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

from .peers import make_redis_layer

IDLE = float(os.environ.get("TIDINGS_BENCH_IDLE", "5"))


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
    cpu = time.process_time()
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
            "cpu": time.process_time() - cpu,  # this process's, from READY on
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


async def rooms(layer: Any, groups: int, size: int, sends: int, me: int, workers: int) -> None:
    mine = [(g, j) for g in range(groups) for j in range(size) if (g + j) % workers == me]
    channels = []
    for g, _ in mine:
        channel = await layer.new_channel()
        await layer.group_add(f"r{g}", channel)
        channels.append(channel)
    say("READY", len(channels))
    cpu = time.process_time()
    latencies: list[float] = []
    last = 0.0

    async def member(channel: str) -> None:
        nonlocal last
        for _ in range(sends):
            message = await layer.receive(channel)
            last = time.time()
            latencies.append(last - message["t"])

    await until_idle([member(c) for c in channels], lambda: len(latencies))
    say(
        "RESULT",
        {
            "received": len(latencies),
            "last": last,
            "latencies": latencies,
            "cpu": time.process_time() - cpu,  # this process's, from READY on
        },
    )


async def queue(layer: Any) -> None:
    """Take jobs from the normal channel "bench-jobs" until it stays empty for IDLE."""
    ids: list[int] = []
    latencies: list[float] = []
    last = 0.0

    async def take() -> None:
        nonlocal last
        while True:
            message = await layer.receive("bench-jobs")
            last = time.time()
            ids.append(message["i"])
            latencies.append(last - message["t"])

    # Receiving before READY: a layer that subscribes in its first receive (channels_redis
    # pubsub) missed the first jobs when the sender started sooner, on a loaded machine.
    taking = asyncio.ensure_future(take())
    await asyncio.sleep(0.2)
    say("READY", 1)
    await until_idle([taking], lambda: len(ids))
    say("RESULT", {"ids": ids, "latencies": latencies, "last": last})


async def echo(layer: Any, n: int) -> None:
    channels = [await layer.new_channel() for _ in range(n)]
    say("READY", channels)
    cpu = time.process_time()
    served = 0

    async def serve(channel: str) -> None:
        nonlocal served
        while True:
            message = await layer.receive(channel)
            await layer.send(message["reply"], {"type": "pong", "t": message["t"]})
            served += 1

    await until_idle([serve(c) for c in channels], lambda: served)
    say("RESULT", {"cpu": time.process_time() - cpu})


async def wsclients(url: str, n: int) -> None:
    """``n`` WebSocket clients; per broadcast, when its last copy arrived."""
    import websockets

    sockets = []
    for _ in range(n):
        sockets.append(await websockets.connect(url, max_queue=None))
    say("READY", n)
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    sent: dict[int, float] = {}
    received = duplicates = 0
    seen: set[tuple[int, int]] = set()
    begin = 0.0

    async def client(i: int, socket: Any) -> None:
        nonlocal received, duplicates, begin
        async for text in socket:
            now = time.time()
            body = json.loads(text)
            n_ = body["n"]
            if (i, n_) in seen:
                duplicates += 1
                continue
            seen.add((i, n_))
            received += 1
            begin = begin or now
            sent[n_] = body["t"]
            first.setdefault(n_, now)
            last[n_] = now

    await until_idle([client(i, s) for i, s in enumerate(sockets)], lambda: received)
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.close()
    say(
        "RESULT",
        {
            "received": received,
            "duplicates": duplicates,
            "span": (max(last.values()) - begin) if last else 0.0,
            "last_per_broadcast": [last[k] - sent[k] for k in sorted(last)],
        },
    )


async def main(argv: list[str]) -> None:
    role, kind, url, prefix, *rest = argv
    if role == "wsclients":
        await wsclients(url, int(rest[0]))
        return
    layer = make_redis_layer(kind, url, prefix, capacity=100_000)
    if role == "members":
        await members(layer, int(rest[0]), int(rest[1]), "bench")
    elif role == "groups":
        await groups(layer, int(rest[0]), int(rest[1]))
    elif role == "rooms":
        await rooms(layer, *map(int, rest[:5]))
    elif role == "echo":
        await echo(layer, int(rest[0]))
    elif role == "queue":
        await queue(layer)
    close = getattr(layer, "close_pools", None) or getattr(layer, "flush", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


if __name__ == "__main__":
    # TIDINGS_BENCH_PROFILE=DIR: each worker writes a cProfile of its run to DIR/<pid>.prof
    # (what the receiving side spends its time on; pstats or snakeviz read it).
    profile_dir = os.environ.get("TIDINGS_BENCH_PROFILE")
    if profile_dir:
        import cProfile

        with cProfile.Profile() as profiler:
            asyncio.run(main(sys.argv[1:]))
        profiler.dump_stats(os.path.join(profile_dir, f"{os.getpid()}.prof"))
    else:
        asyncio.run(main(sys.argv[1:]))
