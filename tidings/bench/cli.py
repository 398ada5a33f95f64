"""``tidings bench ...``: run benchmark scenarios side by side and print ratios."""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from typing import Any

from .fanout import FanoutResult, bare_queue, layer_fanout
from .report import table


def add_parser(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="run benchmarks against peer layers")
    scenarios = bench.add_subparsers(dest="scenario", required=True)
    fanout = scenarios.add_parser(
        "fanout", help="in-process fan-out: tidings vs Channels' in-memory layer vs a bare queue"
    )
    fanout.add_argument("--members", type=int, nargs="+", default=[1000])
    fanout.add_argument("--sends", type=int, default=50)
    fanout.add_argument("--repeat", type=int, default=3, help="runs per contender; best kept")
    fanout.add_argument("--timeout", type=float, default=120.0, help="seconds per run at most")
    fanout.set_defaults(func=run_fanout)

    redis = scenarios.add_parser(
        "redis", help="cross-process: tidings vs channels_redis core and pubsub on one Redis"
    )
    redis.add_argument("--redis", help="Redis URL to use (default: start a redis-server here)")
    redis.add_argument("--members", type=int, default=1000)
    redis.add_argument("--sends", type=int, default=50)
    redis.add_argument("--groups", type=int, default=10_000)
    redis.add_argument("--layers", nargs="+", default=["tidings", "core", "pubsub"])
    redis.add_argument(
        "--scenarios",
        nargs="+",
        default=["fanout", "groups", "p2p"],
        choices=["fanout", "groups", "p2p"],
    )
    redis.set_defaults(func=run_redis)


def run_fanout(args: argparse.Namespace) -> int:
    return asyncio.run(_fanout(args))


async def _fanout(args: argparse.Namespace) -> int:
    from ..layers.memory import MemoryChannelLayer

    try:
        from channels.layers import InMemoryChannelLayer
    except ImportError:
        InMemoryChannelLayer = None

    print(f"# in-process fan-out, {args.sends} group sends, best of {args.repeat}")
    print(f"# python {platform.python_version()}, {platform.machine()}", flush=True)
    rows = []
    for members in args.members:
        best: dict[str, FanoutResult] = {}

        def keep(
            result: FanoutResult, best: dict[str, FanoutResult] = best, members: int = members
        ) -> None:
            old = best.get(result.name)
            if old is None or result.rate > old.rate:
                best[result.name] = result
            print(
                f"  {members} members  {result.name:<28} {result.rate:>12,.0f} deliveries/s"
                f"  lost {result.lost}",
                file=sys.stderr,
                flush=True,
            )

        for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
            keep(await bare_queue(members, args.sends, args.timeout))
            keep(
                await layer_fanout(
                    "tidings MemoryChannelLayer",
                    MemoryChannelLayer(capacity=max(100, args.sends)),
                    members,
                    args.sends,
                    args.timeout,
                )
            )
        if InMemoryChannelLayer is not None:
            keep(
                await layer_fanout(
                    "channels InMemoryChannelLayer",
                    InMemoryChannelLayer(capacity=max(100, args.sends)),
                    members,
                    args.sends,
                    args.timeout,
                )
            )
        ours = best["tidings MemoryChannelLayer"].rate
        for result in best.values():
            rows.append(
                [
                    members,
                    result.name,
                    result.rate,
                    result.lost,
                    f"{ours / result.rate:.2f}x" if result.rate else "-",
                    f"{result.rate / best['asyncio.Queue floor'].rate:.2f}",
                ]
            )
        if InMemoryChannelLayer is None:
            rows.append(
                [members, "channels InMemoryChannelLayer", "skipped (not installed)", "", "", ""]
            )
    print(table(["members", "contender", "deliveries/s", "lost", "tidings is", "of floor"], rows))
    print(
        "\n'tidings is' = tidings' deliveries/s divided by the contender's; "
        "'of floor' = the contender's share of the bare asyncio.Queue rate. "
        "Channels' layer runs once (it takes ~20 s at 1000 members)."
    )
    return 0


def run_redis(args: argparse.Namespace) -> int:
    return asyncio.run(_redis(args))


async def _redis(args: argparse.Namespace) -> int:
    from . import crossproc
    from .peers import REDIS_LAYERS, PeerMissing

    outcomes: list[crossproc.Outcome] = []
    skipped: list[str] = []
    with crossproc.redis_server(args.redis) as url:
        print(
            f"# cross-process benchmarks on one Redis ({url.split('@')[-1]}), "
            f"python {platform.python_version()}",
            flush=True,
        )
        for scenario in args.scenarios:
            for kind in args.layers:
                try:
                    if scenario == "fanout":
                        outcome = await crossproc.fanout(kind, url, args.members, args.sends)
                    elif scenario == "groups":
                        outcome = await crossproc.small_groups(kind, url, args.groups)
                    else:
                        outcome = await crossproc.point_to_point(kind, url)
                except PeerMissing as exc:
                    skipped.append(f"{kind}: {exc}")
                    continue
                outcomes.append(outcome)
                print(
                    f"  {scenario:<8} {REDIS_LAYERS[kind]:<26} {outcome.rate:>12,.0f} "
                    f"{outcome.unit}  lost {outcome.lost}",
                    file=sys.stderr,
                    flush=True,
                )
    rows = []
    for outcome in outcomes:
        ours = next(
            (o for o in outcomes if o.scenario == outcome.scenario and o.layer == "tidings"), None
        )
        ratio = f"{ours.rate / outcome.rate:.2f}x" if ours and outcome.rate else "-"
        flag = "MISSING" if outcome.lost > 0 else ("DUP" if outcome.duplicates else "ok")
        rows.append(
            [
                outcome.scenario,
                REDIS_LAYERS[outcome.layer],
                outcome.rate,
                outcome.unit,
                _ms(outcome.percentile(50)),
                _ms(outcome.percentile(99)),
                f"{outcome.received}/{outcome.expected}",
                outcome.duplicates,
                flag,
                ratio,
            ]
        )
    print(
        table(
            [
                "scenario",
                "layer",
                "rate",
                "unit",
                "p50 ms",
                "p99 ms",
                "received",
                "dup",
                "check",
                "tidings is",
            ],
            rows,
        )
    )
    for line in skipped:
        print(f"skipped {line}")
    print(
        "\n'tidings is' = tidings' rate divided by the layer's, in the same scenario and run. "
        "MISSING = not received before the receivers saw 5 s without progress "
        "(lost, or stalled that long)."
    )
    return 0


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: the scenario has no latencies
