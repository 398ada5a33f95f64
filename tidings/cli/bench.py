"""``tidings bench``: its options here; the harness (``tidings.bench``) loads only when run.

The harness is an optional part: it starts subprocesses and servers and compares against
Channels' layers, so it needs the ``[bench]`` extra, and nothing else in tidings imports it.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from ..exceptions import MissingDependency

# The same tuples as tidings.bench.run.SCENARIOS and tidings.bench.peers.REDIS_LAYERS
# (a test keeps them equal): the parser must not import the harness to offer them.
SCENARIOS = ("inproc", "fanout", "groups", "rooms", "p2p", "queue", "e2e")
LAYERS = ("tidings", "core", "pubsub")
# What the [bench] extra installs, by import name: the harness runs tidings on Redis
# against Channels' in-memory layer and channels_redis, end to end through uvicorn.
NEEDS = ("redis", "channels", "channels_redis", "django", "uvicorn", "websockets")


def add_parser(sub: Any) -> None:
    """Add ``tidings bench`` to the subcommands."""
    bench = sub.add_parser(
        "bench",
        help="benchmarks: tidings vs Channels' in-memory layer and channels_redis, one run",
        description="Run every scenario against every layer in one run and print a table of "
        "rates, latencies and ratios. Needs the bench extra: pip install 'tidings[bench]'.",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes: under two minutes")
    bench.add_argument("--plot", metavar="PNG", help="draw the fan-out curves (matplotlib)")
    bench.add_argument(
        "--redis", metavar="URL", help="Redis to use (default: start a redis-server here)"
    )
    bench.add_argument(
        "--cluster",
        action="store_true",
        help="start a 3-master Redis Cluster and a single Redis here and compare tidings on "
        "both (fan-out and small groups; channels_redis cannot run on a cluster)",
    )
    bench.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), help="what to run"
    )
    bench.add_argument(
        "--layers",
        nargs="+",
        choices=LAYERS,
        default=list(LAYERS),
        help="Redis layers to compare",
    )
    bench.add_argument(
        "--repeat",
        type=_rounds,
        default=1,
        metavar="N",
        help="run every measurement N times, round after round, and show each row's median "
        "rate with its range (a busy machine moves single runs a lot)",
    )
    bench.set_defaults(func=run)


def _rounds(text: str) -> int:
    try:
        rounds = int(text)
    except ValueError:
        rounds = 0
    if not 1 <= rounds <= 20:
        raise argparse.ArgumentTypeError(f"--repeat takes a number from 1 to 20, got {text!r}")
    return rounds


def missing() -> list[str]:
    """The packages of the ``[bench]`` extra that are not installed."""
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def run(args: argparse.Namespace) -> int:
    absent = missing()
    if absent:
        raise MissingDependency(
            f"the benchmarks need {', '.join(absent)}: pip install 'tidings[bench]'"
        )
    from ..bench.cli import run as run_bench

    return run_bench(args)
