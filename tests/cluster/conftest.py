"""Session-wide Redis Cluster and Sentinel deployments (started only if a test asks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..cluster_servers import Cluster, SentinelSet, ServerError, start_cluster, start_sentinel

# redis_cluster (three masters, session-wide) is in tests/conftest.py: the contract
# suite runs on it too.


@pytest.fixture
def redis_cluster_with_replicas() -> Iterator[Cluster]:
    """Three masters with one replica each, for a test that kills a master (its own)."""
    try:
        cluster = start_cluster(masters=3, replicas=1)
    except ServerError as exc:
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_sentinel() -> Iterator[SentinelSet]:
    """A master, a replica and a sentinel (quorum 1), per test: failover changes them."""
    try:
        group = start_sentinel()
    except ServerError as exc:
        pytest.fail(str(exc))
    yield group
    group.stop()
