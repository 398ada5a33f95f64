"""The Cluster and Sentinel starters now live in ``tidings.testing`` (``tidings bench
--cluster`` starts a cluster too); this module re-exports them for the tests' imports."""

from __future__ import annotations

from tidings.testing import ServerError, free_port
from tidings.testing.cluster import (
    FAST_SYNC,
    NODE_TIMEOUT_MS,
    Cluster,
    NodeInfo,
    SentinelSet,
    _ask,
    _wait,
    redis_cli,
    start_cluster,
    start_sentinel,
)

__all__ = [
    "FAST_SYNC",
    "NODE_TIMEOUT_MS",
    "Cluster",
    "NodeInfo",
    "SentinelSet",
    "ServerError",
    "_ask",
    "_wait",
    "free_port",
    "redis_cli",
    "start_cluster",
    "start_sentinel",
]
