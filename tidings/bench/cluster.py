"""``tidings bench --cluster``: tidings on a 3-master Redis Cluster against tidings on one
Redis, same scenarios, same sizes, same run.

Both deployments are started here on free loopback ports (``tidings.testing``) and stopped
by pid at the end (``--redis URL`` replaces the single Redis, never the cluster). The
scenarios are ``crossproc``'s own cross-process ones, given a ``redis+cluster://`` URL
instead of a ``redis://`` one: fan-out (one group, members in two receiver processes)
and small groups with concurrent senders (many groups, so many partitions: all masters).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from ..testing import RedisServer, ServerError, start_cluster
from . import crossproc
from .results import Outcome, outcome_table
from .run import SENDERS, Plan, Step

SCENARIOS = ("fanout", "rooms")
MASTERS = 3
SINGLE = "1 Redis"
CLUSTER = f"Cluster, {MASTERS} masters"
NOTES = (
    "'cluster / 1 Redis' = tidings' rate on the cluster / its rate on the single Redis, same "
    "scenario and size, same run. channels_redis has no rows: it cannot run on a Redis "
    "Cluster (its Lua scripts touch keys they do not declare, which may live on other "
    "nodes). Every server, sender and receiver shares this machine's cores: a cluster's "
    "gain needs masters on their own cores; here it shows the cost of the cluster path. "
    "Fan-out sends to one group, i.e. one partition on one master; small groups spread over "
    "every partition, so every master."
)


@contextmanager
def deployments(redis_url: str | None) -> Iterator[tuple[str, str, float]]:
    """(single Redis URL, cluster URL, seconds the cluster took to start)."""
    single: RedisServer | None = None
    try:
        if not redis_url:
            single = RedisServer().start()
            redis_url = single.url
        started = time.monotonic()
        cluster = start_cluster(MASTERS)
    except ServerError as exc:
        if single is not None:
            single.stop()
        raise SystemExit(f"{exc} (tidings bench --cluster starts its own servers)") from None
    try:
        yield redis_url, cluster.cluster_url, time.monotonic() - started
    finally:
        cluster.stop()
        if single is not None:
            single.stop()


def check_layer(url: str) -> None:
    """Stop with the layer's own reason if this tidings cannot run on a cluster, before any
    worker process is started (each would fail alone, less clearly)."""
    from ..exceptions import ConfigurationError
    from ..layers.redis import RedisChannelLayer

    try:
        RedisChannelLayer(hosts=[url])
    except ConfigurationError as exc:
        raise SystemExit(f"tidings bench --cluster: {exc}") from None


def steps(plan: Plan, single: str, cluster: str, scenarios: list[str]) -> list[Step]:
    """Each measurement on the single Redis, then the same on the cluster."""
    where = ((SINGLE, single), (CLUSTER, cluster))
    out: list[Step] = []
    if "fanout" in scenarios:
        for size in plan.cross_sizes:
            out += [
                (
                    f"fan-out {size}: tidings on {name}",
                    partial(_on, name, crossproc.fanout, "tidings", url, size, plan.cross_sends),
                )
                for name, url in where
            ]
    if "rooms" in scenarios:
        for size, groups, sends in plan.rooms:
            out += [
                (
                    f"small groups {size}, {SENDERS} senders: tidings on {name}",
                    partial(
                        _on,
                        name,
                        crossproc.concurrent_groups,
                        "tidings",
                        url,
                        size,
                        groups,
                        sends,
                        SENDERS,
                    ),
                )
                for name, url in where
            ]
    return out


async def _on(deployment: str, measure: Callable[..., Awaitable[Outcome]], *args: Any) -> Outcome:
    outcome = await measure(*args)
    outcome.layer = f"tidings on {deployment}"
    return outcome


def render(outcomes: list[Outcome]) -> str:
    """One row per measurement; the cluster rows say their rate against the single Redis."""

    def ratio(o: Outcome) -> str:
        single = next(
            (
                x
                for x in outcomes
                if (x.scenario, x.size, x.layer) == (o.scenario, o.size, f"tidings on {SINGLE}")
            ),
            None,
        )
        if single is None or single is o or not single.rate:
            return "-"
        return f"{o.rate / single.rate:.2f}x"

    return outcome_table(outcomes, ratio, who="deployment", ratio_header="cluster / 1 Redis")
