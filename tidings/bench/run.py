"""What ``tidings bench`` runs, in which order and at which sizes; progress on stderr."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from . import crossproc, e2e, floor, inproc, jobs
from .peers import REDIS_LAYERS, PeerMissing
from .results import Outcome, combine


@dataclass(frozen=True)
class Plan:
    """Sizes and bounds of one benchmark run."""

    inproc_sizes: tuple[int, ...]
    inproc_sends: int
    peer_work: int  # deliveries Channels' in-memory layer gets at most per size (it is O(n^2))
    peer_timeout: float
    cross_sizes: tuple[int, ...]
    cross_sends: int
    groups: int
    p2p: tuple[int, int]
    queue: int
    e2e_clients: int
    e2e_seconds: float
    idle: float
    rooms: tuple[tuple[int, int, int], ...] = ()  # (members, groups, sends per group)
    offered: float = 0.0  # group sends/s of the "rooms" rows on a fixed schedule (0: none)


QUICK = Plan(
    (100, 1000),
    20,
    5_000,
    6,
    (100, 1000),
    20,
    2_000,
    (10, 50),
    2_000,
    200,
    3,
    1.5,
    ((1, 500, 4), (10, 100, 5)),
    2_000,
)
FULL = Plan(
    (10, 100, 1000, 5000),
    50,
    20_000,
    20,
    (10, 100, 1000, 5000),
    50,
    10_000,
    (20, 100),
    10_000,
    1000,
    10,
    3,
    ((1, 2000, 5), (10, 400, 10)),
    5_000,
)
SCENARIOS = ("inproc", "fanout", "groups", "rooms", "p2p", "queue", "e2e")
SENDERS = 16  # concurrent sender tasks of the "rooms" scenario

Step = tuple[str, Callable[[], Awaitable[Outcome]]]


def steps(plan: Plan, url: str, layers: list[str], scenarios: list[str]) -> list[Step]:
    """Every measurement of the run, interleaving contenders within each size."""
    out: list[Step] = []
    if "inproc" in scenarios:
        sends = plan.inproc_sends
        for size in plan.inproc_sizes:
            peer_sends = max(1, min(sends, plan.peer_work // size))
            out += [
                (
                    f"in-process {size}: asyncio.Queue floor",
                    partial(_best_of, 2, partial(inproc.bare_queue, size, sends)),
                ),
                (
                    f"in-process {size}: tidings",
                    partial(_best_of, 2, partial(_tidings_memory, size, sends)),
                ),
                (
                    f"in-process {size}: channels InMemory",
                    partial(_channels_inmemory, size, peer_sends, plan.peer_timeout),
                ),
            ]
    kinds = [k for k in layers if k in REDIS_LAYERS]
    if "fanout" in scenarios:
        for size in plan.cross_sizes:
            out += [
                (
                    f"cross-process {size}: {REDIS_LAYERS[k]}",
                    partial(crossproc.fanout, k, url, size, plan.cross_sends),
                )
                for k in kinds
            ]
            if size == plan.cross_sizes[0] and "tidings" in kinds:
                # tidings' own calls with nothing of its client around them: the row's floor
                out.append(
                    (
                        f"cross-process {size}: {floor.BARE}",
                        partial(
                            crossproc.fanout, "tidings", url, size, plan.cross_sends, bare=True
                        ),
                    )
                )
    per_layer = {  # scenario: (label, measurement taking the layer kind)
        "groups": ("small groups", partial(crossproc.small_groups, url=url, groups=plan.groups)),
        "p2p": (
            "point-to-point",
            partial(crossproc.point_to_point, url=url, pairs=plan.p2p[0], trips=plan.p2p[1]),
        ),
        "queue": ("worker queue", partial(crossproc.worker_queue, url=url, messages=plan.queue)),
    }
    if "rooms" in scenarios:
        for size, groups, sends in plan.rooms:
            out += [
                (
                    f"small groups {size}, {SENDERS} senders: {REDIS_LAYERS[k]}",
                    partial(crossproc.concurrent_groups, k, url, size, groups, sends, SENDERS),
                )
                for k in kinds
            ]
        # The same loads on a fixed schedule both layers can carry: latency, not backlog
        # (at full speed the faster sender queues messages in the receivers).
        for size, groups, sends in plan.rooms if plan.offered else ():
            out += [
                (
                    f"small groups {size}, {plan.offered:,.0f}/s: {REDIS_LAYERS[k]}",
                    partial(
                        crossproc.concurrent_groups,
                        k,
                        url,
                        size,
                        groups,
                        sends,
                        SENDERS,
                        offered=plan.offered,
                    ),
                )
                for k in kinds
            ]
        calls = max(g * s for _, g, s in plan.rooms)
        out += [
            (
                f"redis-py floor, {SENDERS} senders ({'pipelined' if piped else 'plain'})",
                partial(floor.redis_floor, url, calls, SENDERS, piped),
            )
            for piped in (False, True)
        ]
    for scenario, (label, measure) in per_layer.items():
        if scenario in scenarios:
            out += [(f"{label}: {REDIS_LAYERS[k]}", partial(measure, k)) for k in kinds]
    if "queue" in scenarios:  # whole workers: tidings worker vs Channels' runworker
        for kill, count in ((False, plan.queue), (True, 300)):
            out += [
                (
                    f"job queue{', SIGKILL' if kill else ''}: {label}",
                    partial(jobs.job_queue, name, url, count, kill=kill),
                )
                for name, (label, kind) in jobs.CONTENDERS.items()
                if kind in kinds
            ]
    if "e2e" in scenarios:
        out += [
            (
                f"WebSocket e2e: {e2e.SERVERS[k][1]}",
                partial(e2e.end_to_end, k, url, plan.e2e_clients, plan.e2e_seconds),
            )
            for k in kinds
            if k in e2e.SERVERS
        ]
    return out


async def _best_of(runs: int, measure: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """The best of ``runs`` measurements: one-off start-up costs (first use of a code
    path, a GC pause) must not decide a row whose whole run takes a millisecond."""
    best = await measure()
    for _ in range(runs - 1):
        again = await measure()
        if again.rate > best.rate:
            best = again
    best.note = f"best of {runs}"
    return best


async def _tidings_memory(size: int, sends: int) -> Outcome:
    from ..layers.memory import MemoryChannelLayer

    layer = MemoryChannelLayer(capacity=max(100, sends))
    return await inproc.layer_fanout("tidings MemoryChannelLayer", layer, size, sends)


async def _channels_inmemory(size: int, sends: int, timeout: float) -> Outcome:
    try:
        from channels.layers import InMemoryChannelLayer
    except ImportError:
        raise PeerMissing("Channels is not installed: pip install 'tidings[bench]'") from None
    outcome = await inproc.layer_fanout(
        "channels InMemoryChannelLayer",
        InMemoryChannelLayer(capacity=max(100, sends)),
        size,
        sends,
        timeout,
    )
    outcome.note = f"{sends} sends"
    return outcome


async def run_steps(
    plan: Plan, todo: list[Step], repeat: int = 1
) -> tuple[list[Outcome], list[str]]:
    """Run every step, ``repeat`` rounds of all of them (so a slow spell of the machine
    falls on every contender alike), printing a progress bar; each row is then the
    median of its rounds (``combine``). A missing peer is skipped, not fatal."""
    os.environ["TIDINGS_BENCH_IDLE"] = str(plan.idle)
    runs: list[list[Outcome]] = [[] for _ in todo]
    skipped: dict[int, str] = {}
    started = time.monotonic()
    total = len(todo) * repeat
    for round_ in range(repeat):
        for n, (label, make) in enumerate(todo):
            if n in skipped:
                continue
            shown = label if repeat == 1 else f"{label} (round {round_ + 1})"
            _progress(round_ * len(todo) + n, total, shown, started)
            try:
                runs[n].append(await make())
            except PeerMissing as exc:
                skipped[n] = f"{label}: {exc}"
    _progress(total, total, "done", started)
    sys.stderr.write("\n")
    return [combine(r) for r in runs if r], list(skipped.values())


def _progress(done: int, total: int, label: str, started: float) -> None:
    width = 24
    filled = int(width * done / max(total, 1))
    bar = "#" * filled + "-" * (width - filled)
    elapsed = time.monotonic() - started
    sys.stderr.write(f"\r[{bar}] {done}/{total} {elapsed:5.0f}s  {label[:60]:<60}")
    sys.stderr.flush()
