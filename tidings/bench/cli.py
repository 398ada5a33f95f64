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
