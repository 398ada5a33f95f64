"""Fixtures shared by every test: the backends the contract suite runs against."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tidings import BaseChannelLayer, MemoryChannelLayer
from tidings.layers.redis import RedisChannelLayer

from .servers import RedisServer, start_redis

BACKENDS = ["memory", "redis", "sentinel", "cluster"]
LayerFactory = Callable[..., BaseChannelLayer]


@pytest.fixture(scope="session")
def redis_server() -> Any:
    """A real redis-server on a free loopback port, started for this test session."""
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sentinel_deployment() -> Any:
    """A master, a replica and a sentinel on free loopback ports, for this test session
    (tests that fail the master over start their own: tests/cluster/conftest.py)."""
    from .cluster_servers import ServerError, start_sentinel

    try:
        group = start_sentinel(master_name="tidings")
    except ServerError as exc:
        pytest.fail(str(exc))
    yield group
    group.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Any:
    """Three masters, no replicas, on free loopback ports, for this test session (tests
    that fail a master over start their own)."""
    from .cluster_servers import ServerError, start_cluster

    try:
        cluster = start_cluster(masters=3)
    except ServerError as exc:
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_layer(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[LayerFactory]:
    """Build layers of the current backend with config overrides; flush and close after."""
    made: list[BaseChannelLayer] = []
    server: RedisServer | None = None
    hosts: list[Any] | None = None
    if backend == "redis":
        server = request.getfixturevalue("redis_server")
        hosts = [server.url]
    elif backend == "sentinel":  # channels_redis's Sentinel dict form
        group = request.getfixturevalue("sentinel_deployment")
        hosts = [{"sentinels": group.sentinels, "master_name": group.master_name}]
    elif backend == "cluster":  # the URL form, any node as the seed
        cluster = request.getfixturevalue("redis_cluster")
        hosts = [f"redis+cluster://127.0.0.1:{cluster.nodes[0].port}"]
    prefix = f"t{os.getpid()}x{len(request.node.name)}{id(request) % 10_000}"

    def factory(**config: Any) -> BaseChannelLayer:
        layer: BaseChannelLayer
        if hosts is None:
            layer = MemoryChannelLayer(**config)
        else:
            from tidings.layers.redis import RedisChannelLayer

            config.setdefault("hosts", hosts)
            config.setdefault("prefix", prefix)
            layer = RedisChannelLayer(**config)
        made.append(layer)
        return layer

    yield factory
    for layer in made:
        try:
            await layer.flush()
        finally:
            await layer.close()


@pytest.fixture
async def layers() -> AsyncIterator[Callable[..., RedisChannelLayer]]:
    """``layers(url, prefix, **options)``: a RedisChannelLayer closed after the test,
    whatever happened in it."""
    made: list[RedisChannelLayer] = []

    def make(url: str, prefix: str, **options: Any) -> RedisChannelLayer:
        made.append(RedisChannelLayer(hosts=[url], prefix=prefix, **options))
        return made[-1]

    yield make
    for layer in made:
        await layer.close()


@pytest.fixture
async def layer(make_layer: LayerFactory) -> BaseChannelLayer:
    return make_layer()
