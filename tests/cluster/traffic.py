"""Counted traffic between OS processes through tidings, for the failover and resharding tests.

    python -m tests.cluster.traffic receive URL GROUP SECONDS
        one channel, added to GROUP; prints READY {"channel": name}; receives until it has
        had the sender's "stop" through the group and directly (or 3 s after the first
        of them), or SECONDS pass; prints
        DONE {"got": [[kind, n, seconds since READY], ...]}.
    python -m tests.cluster.traffic send URL GROUP CHANNELS SECONDS INTERVAL TASKS
        prints READY {}; waits for a line on stdin; then for SECONDS, TASKS concurrent tasks
        each every INTERVAL make round n (numbered in one sequence): a group_send to GROUP
        and a send to one of CHANNELS (comma separated, in turn), each message
        {"k": "g"|"d", "n": n}; prints DONE {"ok": [[kind, n, at], ...],
        "raised": [[kind, n, exception, text, at], ...], "slowest": seconds, ...}, where
        ``at`` is when that send began, in seconds since the line arrived.

A send that returns is *accepted*; one that raises is not (it may or may not have arrived).
Every loop is bounded in count and time. The layer is built from the URL alone, so the same
harness runs on a single Redis, a Sentinel set or a Cluster.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from tidings.layers.redis import RedisChannelLayer

TIMEOUT = 2.0  # the layer's own bound on waiting for an unreachable Redis
MAX_SENDS = 20_000
STOP_WITHIN = 15.0  # seconds the sender keeps trying to deliver the stops after its run


def out(tag: str, value: Any) -> None:
    sys.stdout.write(f"{tag} {json.dumps(value)}\n")
    sys.stdout.flush()


def layer_for(url: str) -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[url], timeout=TIMEOUT, capacity=100_000)


async def receive(url: str, group: str, seconds: float) -> None:
    layer = layer_for(url)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    started = time.monotonic()
    out("READY", {"channel": channel})
    got: list[tuple[str, int, float]] = []
    stops: set[str] = set()
    deadline = started + seconds
    while len(stops) < 2 and time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(layer.receive(channel), 0.5)
        except TimeoutError:
            continue
        if message["type"] == "stop":
            stops.add(message["k"])
            # the other stop is sent right after: not there in 3 s, it was lost
            deadline = min(deadline, time.monotonic() + 3)
            continue
        got.append((message["k"], message["n"], round(time.monotonic() - started, 3)))
    out("DONE", {"got": got, "stops": sorted(stops)})
    await layer.close()


async def send(
    url: str, group: str, channels: list[str], seconds: float, every: float, tasks: int
) -> None:
    layer = layer_for(url)
    await layer.group_send(group + "-warmup", {"type": "warmup"})  # connect, load scripts
    out("READY", {})
    await asyncio.to_thread(sys.stdin.readline)
    started, wall = time.monotonic(), time.time()
    ok: list[tuple[str, int, float]] = []
    raised: list[tuple[str, int, str, str, float]] = []
    slowest = 0.0

    def at(moment: float) -> float:
        return round(moment - started, 3)

    async def one(kind: str, n: int, call: Any) -> None:
        nonlocal slowest
        began = time.monotonic()
        try:
            await call
        except Exception as exc:  # every failure is counted, whatever it is
            raised.append((kind, n, type(exc).__name__, str(exc)[:400], at(began)))
        else:
            ok.append((kind, n, at(began)))
        slowest = max(slowest, time.monotonic() - began)

    n = 0

    async def rounds() -> None:
        nonlocal n
        while time.monotonic() - started < seconds and n < MAX_SENDS:
            n += 1
            mine = n
            target = channels[mine % len(channels)]
            await one("g", mine, layer.group_send(group, {"type": "t", "k": "g", "n": mine}))
            await one("d", mine, layer.send(target, {"type": "t", "k": "d", "n": mine}))
            await asyncio.sleep(every)

    # concurrent senders in one process, as in an app: their calls share trips to Redis
    await asyncio.gather(*(rounds() for _ in range(tasks)))
    # the stops, once the cluster answers again (bounded: STOP_WITHIN seconds in all)
    stop_errors: list[str] = []
    stop_by = time.monotonic() + STOP_WITHIN
    for kind, call in [("g", lambda: layer.group_send(group, {"type": "stop", "k": "g"}))] + [
        ("d", lambda c=c: layer.send(c, {"type": "stop", "k": "d"})) for c in channels
    ]:
        last = ""
        while time.monotonic() < stop_by:
            try:
                await call()
                break
            except Exception as exc:
                last = f"{kind} stop: {type(exc).__name__}: {exc}"[:300]
                await asyncio.sleep(0.2)
        else:
            stop_errors.append(last)
    result = {"ok": ok, "raised": raised, "slowest": slowest, "started": wall, "sent": n}
    out("DONE", result | {"stop_errors": stop_errors})
    await layer.close()


if __name__ == "__main__":
    role, url, group, *rest = sys.argv[1:]
    if role == "receive":
        asyncio.run(receive(url, group, float(rest[0])))
    else:
        asyncio.run(
            send(url, group, rest[0].split(","), float(rest[1]), float(rest[2]), int(rest[3]))
        )
