"""A round trip to several cluster masters that fails on one of them must not make the
calls that ran on the others run again."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tidings.exceptions import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer
from tidings.testing.cluster import Cluster

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


def _key_on(cluster: Cluster, port: int, owned: bool) -> str:
    for n in range(10_000):
        key = f"trip:{n}"
        if (cluster.owner(cluster.key_slot(key)) == port) == owned:
            return key
    raise AssertionError("no key found")


async def test_a_send_that_ran_on_a_live_master_is_not_retried_when_its_trip_failed_elsewhere(
    redis_cluster_with_replicas: Cluster,
) -> None:
    """Defect (duplicates at a master kill): a trip with calls for two masters, one just
    killed and not yet replaced (the slot map, just refreshed, still names it, and its new
    connection cannot connect), failed as a whole with redis-py's "Error 111 connecting to
    …", which reads as "never sent": the call that had run on the live master was retried
    and ran twice."""
    cluster = redis_cluster_with_replicas
    layer = RedisChannelLayer(hosts=[cluster.cluster_url], timeout=3.0)
    conns = layer.connections
    victim = cluster.owner(0)
    live_key, dead_key = _key_on(cluster, victim, False), _key_on(cluster, victim, True)

    async def incr(key: str) -> object:
        return await conns.run(
            0, lambda c: conns.pipeline(c).call("INCR", key), pipelined=True, idempotent=False
        )

    try:
        assert await incr(live_key) == 1
        cluster.kill(victim)
        client = conns.client(0)
        await client.nodes_manager.initialize()  # as the layer does after an error: new nodes
        results = await asyncio.gather(incr(live_key), incr(dead_key), return_exceptions=True)
        assert all(isinstance(r, (int, BackendUnavailable)) for r in results), results
        await asyncio.sleep(0.2)
        ran = int(await client.get(live_key))
        assert ran == 2, f"the INCR that ran on the live master ran {ran - 1} times: {results}"
    finally:
        with contextlib.suppress(Exception):
            await layer.close()
