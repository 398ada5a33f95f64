"""Where a scenario's CPU goes: ``python -m tidings.bench.budget [SCENARIO...] [--runs N]``.

The rate rows of ``tidings bench`` swing from run to run on a small shared machine (four
processes on two cores: who gets a core when decides the end of a short run); the CPU each
process spends per operation is the steadier yardstick. For each scenario this runs tidings
and channels_redis pubsub alternately against one redis-server it starts, and prints, per
send: the sending process's CPU (over its send loop), each receiving process's (from its
READY on) and Redis' (``INFO cpu``; for the rooms scenarios this includes the receivers'
setup ``group_add`` calls), then the rate ratio of that pair of runs.

Scenarios (the bench's own functions and sizes): ``fanout10`` (one sender awaiting each
group_send to 10 members in 2 processes), ``rooms1`` and ``rooms10`` (16 concurrent
senders, random 1- or 10-member groups), ``p2p`` (20 concurrent ping-pongs with an echo
process; figures per round trip, the echo process's CPU includes its replies). Receiving
processes end ``TIDINGS_BENCH_IDLE`` seconds (here 1 unless set) after the last message.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..testing import RedisServer
from . import crossproc
from .results import Outcome
from .run import FULL, SENDERS

ONE, TEN = FULL.rooms  # (members, groups, sends per group) of the bench's two rooms rows
SCENARIOS: dict[str, tuple[Callable[[str, str], Awaitable[Outcome]], int]] = {
    # name: (measurement of one layer kind on one Redis URL, members per send)
    "fanout10": (lambda kind, url: crossproc.fanout(kind, url, 10, FULL.cross_sends), 10),
    "rooms1": (lambda kind, url: crossproc.concurrent_groups(kind, url, *ONE, SENDERS), ONE[0]),
    "rooms10": (lambda kind, url: crossproc.concurrent_groups(kind, url, *TEN, SENDERS), TEN[0]),
    # per round trip; the receiver is the echo process (its CPU includes its replies)
    "p2p": (lambda kind, url: crossproc.point_to_point(kind, url, *FULL.p2p, echo_cpu=True), 1),
}


@dataclass
class Budget:
    """One layer's CPU per send (per round trip for p2p) in one run of a scenario, in µs."""

    layer: str
    rate: float
    sender: float
    receivers: list[float]
    redis: float

    @property
    def total(self) -> float:
        return self.sender + sum(self.receivers) + self.redis

    def line(self) -> str:
        parts = " + ".join(f"{r:.1f}" for r in self.receivers)
        return (
            f"{self.layer:26s} {self.rate:>10,.0f}/s  sender {self.sender:5.1f}  "
            f"receivers {parts}  redis {self.redis:5.1f}  = {self.total:6.1f} µs each"
        )


async def measure(name: str, kind: str, url: str) -> Budget:
    """Run scenario ``name`` for layer ``kind`` and account for its CPU per send."""
    import redis.asyncio as aioredis

    scenario, members = SCENARIOS[name]
    client = aioredis.Redis.from_url(url)
    try:
        before = await _redis_cpu(client)
        outcome = await scenario(kind, url)
        used = await _redis_cpu(client) - before
    finally:
        await client.aclose()
    sends = outcome.expected / members
    return Budget(
        outcome.layer,
        outcome.rate,
        (outcome.cpu_per_1000 or 0.0) * 1000,
        [cpu / sends * 1e6 for cpu in outcome.receivers_cpu],
        used / sends * 1e6,
    )


async def _redis_cpu(client: object) -> float:
    info = await client.info("cpu")  # type: ignore[attr-defined]
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def main(names: list[str], runs: int) -> None:
    os.environ.setdefault("TIDINGS_BENCH_IDLE", "1")  # the workers' wait after the last message
    server = RedisServer().start()
    try:
        for name in names:
            for _ in range(runs):
                ours = await measure(name, "tidings", server.url)
                theirs = await measure(name, "pubsub", server.url)
                print(f"{name}: {ours.line()}")
                print(f"{name}: {theirs.line()}")
                print(
                    f"{name}: rate ratio {ours.rate / theirs.rate:.2f}, CPU ratio "
                    f"{theirs.total / ours.total:.2f} (pubsub / tidings)",
                    flush=True,
                )
    finally:
        server.stop()


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tidings.bench.budget", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (all)")
    parser.add_argument("--runs", type=int, default=1, help="pairs of runs per scenario (1)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    asyncio.run(main(args.scenarios or [*SCENARIOS], args.runs))


if __name__ == "__main__":
    cli()
