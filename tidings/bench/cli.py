"""``tidings bench``: every scenario side by side, a table of ratios, optionally a plot.

Its options are parsed in ``tidings.cli.bench``, which imports this module only to run.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from contextlib import nullcontext

from .results import Outcome, outcome_table
from .run import FULL, QUICK, Plan, run_steps, steps


def run(args: argparse.Namespace) -> int:
    """Run the benchmarks ``args`` (from ``tidings.cli.bench``) ask for."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from .crossproc import redis_server

    plan = QUICK if args.quick else FULL
    if getattr(args, "cluster", False):
        return await _run_cluster(args, plan)
    needs_redis = set(args.scenarios) - {"inproc"}
    repeat = getattr(args, "repeat", 1)
    print(
        f"# tidings bench{' --quick' if args.quick else ''}"
        f"{f' --repeat {repeat}' if repeat > 1 else ''}: python "
        f"{platform.python_version()}, {platform.machine()}",
        flush=True,
    )
    with redis_server(args.redis) if needs_redis else nullcontext("") as url:
        outcomes, skipped = await run_steps(
            plan, steps(plan, url, args.layers, args.scenarios), repeat
        )
    print(render(outcomes))
    for line in skipped:
        print(f"skipped: {line}")
    print(
        "\n'tidings is' = tidings' rate / the contender's, same scenario and size, same run; "
        "on rows with a rate in their name (a fixed schedule both layers can carry) it is "
        "tidings' p99 latency / the contender's instead (below 1: tidings is quicker). "
        "check: MISSING = not received before the receivers saw no progress for a while "
        "(lost, or stalled that long); DUP = delivered twice; partial = stopped at the time "
        "bound (the rate is what arrived). WebSocket e2e: p50/p99 are per broadcast, "
        "group_send to the last client's receipt; rate is paced by the broadcast interval."
    )
    if args.plot:
        from .plot import plot

        plot(outcomes, args.plot)
        print(f"plot written to {args.plot}")
    return 0


async def _run_cluster(args: argparse.Namespace, plan: Plan) -> int:
    from . import cluster

    scenarios = [s for s in args.scenarios if s in cluster.SCENARIOS]
    if not scenarios:
        raise SystemExit(
            f"--cluster runs the scenarios {', '.join(cluster.SCENARIOS)}; "
            f"--scenarios {' '.join(args.scenarios)} names none of them."
        )
    print(
        f"# tidings bench --cluster{' --quick' if args.quick else ''}: python "
        f"{platform.python_version()}, {platform.machine()}, loopback",
        flush=True,
    )
    with cluster.deployments(args.redis) as (single, on_cluster, started_in):
        cluster.check_layer(on_cluster)
        print(f"# {cluster.CLUSTER} started in {started_in:.1f}s", flush=True)
        outcomes, skipped = await run_steps(
            plan, cluster.steps(plan, single, on_cluster, scenarios), getattr(args, "repeat", 1)
        )
    print(cluster.render(outcomes))
    for line in skipped:
        print(f"skipped: {line}")
    print("\n" + cluster.NOTES)
    return 0


def render(outcomes: list[Outcome]) -> str:
    """One row per measurement, each with tidings' rate over this contender's."""

    def ratio(o: Outcome) -> str:
        ours = next(
            (
                x
                for x in outcomes
                if x.scenario == o.scenario and x.size == o.size and x.layer.startswith("tidings")
            ),
            None,
        )
        if ours is None:
            return "-"
        if o.paced:  # same offered load: the rates match, the latencies tell
            p99 = o.percentile(99)
            return f"p99 {ours.percentile(99) / p99:.2f}x" if p99 > 0 else "-"
        return f"{ours.rate / o.rate:.2f}x" if o.rate else "-"

    return outcome_table(outcomes, ratio)
