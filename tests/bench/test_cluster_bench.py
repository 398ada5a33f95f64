"""``tidings bench --cluster`` at tiny sizes: it starts its own cluster and single Redis,
measures the same rows on both, and its table says what it measured."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from tidings.bench import cli, cluster, run
from tidings.bench.results import Outcome

pytestmark = pytest.mark.timeout(150)
TINY = dataclasses.replace(run.QUICK, cross_sizes=(6,), cross_sends=3, rooms=((2, 5, 2),))


def test_every_row_runs_on_the_single_redis_then_on_the_cluster() -> None:
    labels = [
        label
        for label, _ in cluster.steps(
            TINY, "redis://a", "redis+cluster://b", ["fanout", "rooms", "p2p"]
        )
    ]
    assert labels == [
        "fan-out 6: tidings on 1 Redis",
        "fan-out 6: tidings on Cluster, 3 masters",
        "small groups 2, 16 senders: tidings on 1 Redis",
        "small groups 2, 16 senders: tidings on Cluster, 3 masters",
    ]


def test_the_table_gives_the_cluster_rows_their_ratio_to_the_single_redis() -> None:
    rows = [
        Outcome("fan-out", "tidings on 1 Redis", 10, 200.0, "deliveries/s", 30, 30),
        Outcome("fan-out", "tidings on Cluster, 3 masters", 10, 100.0, "deliveries/s", 30, 29),
    ]
    text = cluster.render(rows)
    single, on_cluster = text.splitlines()[2:]
    assert single.rstrip(" |").endswith("-") and "0.50x" in on_cluster
    assert "29/30" in on_cluster and "MISSING" in on_cluster
    assert "cannot run on a Redis Cluster" in cluster.NOTES


async def test_scenarios_it_cannot_run_are_refused_by_name() -> None:
    args = argparse.Namespace(quick=True, cluster=True, scenarios=["p2p"], redis=None)
    with pytest.raises(SystemExit, match="fanout, rooms"):
        await cli._run_cluster(args, TINY)


@pytest.mark.redis
async def test_a_tiny_cluster_run_delivers_everything_on_both(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_BENCH_IDLE", "1")
    args = argparse.Namespace(quick=True, cluster=True, scenarios=["fanout", "rooms"], redis=None)
    assert await cli._run_cluster(args, TINY) == 0
    out = capsys.readouterr().out
    print(out)
    rows = [line for line in out.splitlines() if line.startswith(("| cross-process", "| small"))]
    assert len(rows) == 4
    assert all(" ok |" in row for row in rows), rows
    assert sum("x |" in row for row in rows) == 2  # the two cluster rows have a ratio
