"""Cross-process scenarios on one Redis: fan-out, many small groups, point-to-point.

Every contender runs the same shape against the same Redis in the same run, with
receivers in separate OS processes (``worker.py``). All loops are bounded in count and
time; servers and clients stay on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

from ..testing import RedisServer, ServerError
from . import floor
from .peers import REDIS_LAYERS, forget_prefix, make_redis_layer
from .results import Outcome


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The given Redis URL, or a redis-server started on a free loopback port."""
    if url:
        yield url
        return
    try:
        server = RedisServer().start()
    except ServerError as exc:
        raise SystemExit(f"{exc} Or pass --redis URL.") from None
    try:
        yield server.url
    finally:
        server.stop()


class Worker:
    """A receiver process of ``tidings.bench.worker``."""

    def __init__(self, *args: object) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tidings.bench.worker", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    async def expect(self, tag: str, timeout: float = 120) -> Any:
        return await asyncio.wait_for(asyncio.to_thread(self._read, tag), timeout)

    def _read(self, tag: str) -> Any:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1 :])
        err = self.process.stderr.read() if self.process.stderr else ""
        raise RuntimeError(f"bench worker ended before {tag}: {err[-1500:]}")

    def stop(self) -> None:
        if os.environ.get("TIDINGS_BENCH_PROFILE"):
            # It writes its profile after its RESULT: killed at once, it left a cut file.
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(60)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


async def _start(workers: list[Worker]) -> list[Any]:
    try:
        return [await w.expect("READY", 120) for w in workers]
    except BaseException:
        for w in workers:
            w.stop()
        raise


async def _close(layer: Any, url: str, prefix: str) -> None:
    for name in ("flush", "close_pools", "close"):
        method = getattr(layer, name, None)
        if method is not None:
            with suppress(Exception):
                await method()
    await forget_prefix(url, prefix)


# A sequential fan-out row makes at least this many deliveries: at 10 members and 50 sends
# a run lasted ~15 ms, and one scheduler hiccup on a shared machine moved its ratio 4x.
FANOUT_AT_LEAST = 10_000


async def fanout(
    kind: str,
    url: str,
    members: int,
    sends: int,
    receivers: int = 2,
    at_least: int = FANOUT_AT_LEAST,
    bare: bool = False,
) -> Outcome:
    """``sends`` group sends to ``members`` members spread over ``receivers`` processes,
    one after the other; more sends if that makes fewer than ``at_least`` deliveries.

    ``bare`` (tidings only): the sends are tidings' own ``EVALSHA`` of group_send.lua made
    by a bare redis-py client, with nothing of the layer around it (``floor.BareGroupSend``):
    what this row could reach if tidings' client side cost nothing."""
    prefix = f"bf{secrets.token_hex(3)}"
    share = members // receivers
    sends = max(sends, -(-at_least // max(1, share * receivers)))
    bare_sender: floor.BareGroupSend | None = None
    workers = [Worker("members", kind, url, prefix, share, sends) for _ in range(receivers)]
    await _start(workers)
    layer = make_redis_layer(kind, url, prefix, capacity=1000)
    try:
        await asyncio.sleep(0.2)
        # One send to another group first, for every layer: connecting and loading
        # scripts is not what this row measures (at 10 members a run lasts ~15 ms).
        await layer.group_send("bench-warmup", {"type": "bench.warmup"})
        bare_sender = floor.BareGroupSend(layer, url, "bench") if bare else None
        send = bare_sender or partial(layer.group_send, "bench")
        cpu = time.process_time()
        start = time.time()
        for n in range(sends):
            await send({"type": "bench.tick", "n": n, "t": time.time(), "payload": "x" * 32})
        cpu = time.process_time() - cpu  # the sending process only
        results = [await w.expect("RESULT", 120) for w in workers]
    finally:
        for w in workers:
            w.stop()
        if bare_sender is not None:
            await bare_sender.aclose()
        await _close(layer, url, prefix)
    received = sum(r["received"] for r in results)
    last = max((r["last"] for r in results), default=start)
    return Outcome(
        "cross-process fan-out",
        floor.BARE if bare else REDIS_LAYERS[kind],
        share * receivers,
        received / max(last - start, 1e-9),
        "deliveries/s",
        share * receivers * sends,
        received,
        sum(r["duplicates"] for r in results),
        [x for r in results for x in r["latencies"]],
        cpu_per_1000=cpu / max(1, sends) * 1000,
        receivers_cpu=[r["cpu"] for r in results if "cpu" in r],
    )


async def small_groups(kind: str, url: str, groups: int, senders: int = 8) -> Outcome:
    """``groups`` one-member groups over 2 processes; ``senders`` concurrent group_senders."""
    prefix = f"bg{secrets.token_hex(3)}"
    half = groups // 2
    workers = [Worker("groups", kind, url, prefix, half, i * half) for i in range(2)]
    await _start(workers)
    layer = make_redis_layer(kind, url, prefix, capacity=1000)
    try:
        names = [f"g{i}" for i in range(half * 2)]

        async def sender(part: list[str]) -> None:
            for name in part:
                await layer.group_send(name, {"type": "bench.one", "t": time.time()})

        start = time.time()
        await asyncio.gather(*(sender(names[i::senders]) for i in range(senders)))
        elapsed = time.time() - start
        results = [await w.expect("RESULT", 120) for w in workers]
    finally:
        for w in workers:
            w.stop()
        await _close(layer, url, prefix)
    return Outcome(
        "small groups",
        REDIS_LAYERS[kind],
        len(names),
        len(names) / elapsed,
        "group_sends/s",
        len(names),
        sum(r["received"] for r in results),
    )


async def concurrent_groups(
    kind: str,
    url: str,
    size: int,
    groups: int,
    sends: int,
    senders: int = 16,
    receivers: int = 2,
    offered: float | None = None,
) -> Outcome:
    """Small groups, concurrent senders: ``groups`` groups of ``size`` members spread over
    ``receivers`` processes; ``senders`` tasks of one process each make group sends to a
    random group until every group got ``sends`` (the everyday chat-room / per-user
    notification load). Rate = group sends / (first send -> last delivery).

    ``offered``: group sends per second for all senders together, on a fixed schedule,
    instead of as fast as they can. At full speed the layer whose sender outruns its
    receivers builds a backlog in them, and its latencies measure that queue; at a rate
    both layers can carry, they measure each layer's own delay. A message's latency
    counts from when it was *due*, so a sender running behind its schedule shows up in
    the latencies instead of hiding there."""
    prefix = f"bc{secrets.token_hex(3)}"
    workers = [
        Worker("rooms", kind, url, prefix, groups, size, sends, i, receivers)
        for i in range(receivers)
    ]
    await _start(workers)
    layer = make_redis_layer(kind, url, prefix, capacity=1000)
    order = [g for g in range(groups) for _ in range(sends)]
    random.Random(11).shuffle(order)  # the same random sequence for every contender
    try:
        await asyncio.sleep(0.2)

        async def sender(part: list[int], first: int) -> None:
            if offered is None:
                for g in part:
                    await layer.group_send(f"r{g}", {"type": "bench.room", "t": time.time()})
                return
            for k, g in enumerate(part):  # send k of this sender is the run's (k*senders+first)th
                due = start + (k * senders + first) / offered
                if due > time.time():
                    await asyncio.sleep(due - time.time())
                await layer.group_send(f"r{g}", {"type": "bench.room", "t": due})

        await layer.group_send("bench-warmup", {"type": "bench.warmup"})  # as in fanout()
        cpu = time.process_time()
        start = time.time()
        with suppress(TimeoutError):  # one bound for the run, not a timer per send
            await asyncio.wait_for(
                asyncio.gather(*(sender(order[i::senders], i) for i in range(senders))), 120
            )
        cpu = time.process_time() - cpu  # the sending process only
        results = [await w.expect("RESULT", 120) for w in workers]
    finally:
        for w in workers:
            w.stop()
        await _close(layer, url, prefix)
    received = sum(r["received"] for r in results)
    last = max((r["last"] for r in results), default=start)
    paced = "" if offered is None else f" at {offered:,.0f}/s"
    return Outcome(
        f"small groups, {senders} senders{paced}",
        REDIS_LAYERS[kind],
        size,
        len(order) / max(last - start, 1e-9),
        "group_sends/s",
        len(order) * size,
        received,
        latencies=[x for r in results for x in r["latencies"]],
        note=f"{groups} groups x {sends} sends; received counts deliveries",
        cpu_per_1000=cpu / len(order) * 1000,
        receivers_cpu=[r["cpu"] for r in results if "cpu" in r],
        paced=offered is not None,
    )


async def point_to_point(
    kind: str, url: str, pairs: int = 20, trips: int = 100, echo_cpu: bool = False
) -> Outcome:
    """``pairs`` concurrent ping-pongs between this process and an echo process.
    ``echo_cpu``: also wait for the echo process to report its CPU (it ends after
    ``TIDINGS_BENCH_IDLE`` seconds without a ping)."""
    prefix = f"bp{secrets.token_hex(3)}"
    worker = Worker("echo", kind, url, prefix, pairs)
    (targets,) = await _start([worker])
    layer = make_redis_layer(kind, url, prefix, capacity=1000)
    latencies: list[float] = []
    received = 0
    echo: list[float] = []
    cpu = time.process_time()
    try:

        async def pinger(target: str) -> None:
            nonlocal received
            mine = await layer.new_channel()
            for _ in range(trips):
                await layer.send(target, {"type": "ping", "t": time.time(), "reply": mine})
                reply = await layer.receive(mine)
                latencies.append(time.time() - reply["t"])
                received += 1

        start = time.time()
        # One bound for the whole run, not a timer per message (that would tax every layer).
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(pinger(t) for t in targets)), 120)
        elapsed = time.time() - start
        cpu = time.process_time() - cpu  # the pinging process, setup of its channels included
        if echo_cpu:
            echo.append((await worker.expect("RESULT", 120))["cpu"])
    finally:
        worker.stop()
        await _close(layer, url, prefix)
    return Outcome(
        "point-to-point",
        REDIS_LAYERS[kind],
        pairs,
        received / elapsed,
        "round trips/s",
        pairs * trips,
        received,
        latencies=latencies,
        cpu_per_1000=cpu / max(1, received) * 1000,
        receivers_cpu=echo,
    )


async def worker_queue(kind: str, url: str, messages: int, receivers: int = 2) -> Outcome:
    """One normal channel, ``receivers`` processes taking from it: each message once."""
    prefix = f"bq{secrets.token_hex(3)}"
    workers = [Worker("queue", kind, url, prefix) for _ in range(receivers)]
    await _start(workers)
    layer = make_redis_layer(kind, url, prefix, capacity=messages + 10)
    try:
        start = time.time()
        for i in range(messages):
            await layer.send("bench-jobs", {"type": "job", "i": i, "t": time.time()})
        results = [await w.expect("RESULT", 120) for w in workers]
    finally:
        for w in workers:
            w.stop()
        await _close(layer, url, prefix)
    ids = [i for r in results for i in r["ids"]]
    last = max((r["last"] for r in results), default=start)
    return Outcome(
        "worker queue",
        REDIS_LAYERS[kind],
        receivers,
        len(ids) / max(last - start, 1e-9),
        "messages/s",
        messages,
        len(set(ids)),
        len(ids) - len(set(ids)),
        [x for r in results for x in r["latencies"]],
    )
