"""Connections.run against a real redis-server: whose round trip a late call may cut off."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from tidings.exceptions import BackendUnavailable
from tidings.layers.redis.connection import Client, Connections
from tidings.layers.redis.hosts import parse_hosts

pytestmark = pytest.mark.timeout(30)


async def test_a_call_late_in_its_retry_pause_leaves_another_calls_trip_alone(redis_server):
    """A call that keeps getting a transient error reply (here TRYAGAIN) runs out of time
    while it waits to retry, not in a round trip: its deadline must not cut off the trip
    another call has in flight (seen on a Cluster: a group send refused during a slot move
    failed an unrelated send as "may or may not have been done")."""
    # late's deadline fires at ~0.6 s, inside busy's trip (0.3 s to 0.8 s), which ends
    # well within its own trip deadline (0.6 s after it starts)
    connections = Connections(parse_hosts([redis_server.url]), 0.6)

    async def refused(client: Client) -> None:
        raise ResponseError("TRYAGAIN the slot is moving")

    async def slow(client: Client) -> object:  # a trip in flight for 0.5 s
        return await connections.pipeline(client).call("BLPOP", "tc:nothing", "0.5")

    try:
        late = asyncio.create_task(connections.run(0, refused, pipelined=True))
        await asyncio.sleep(0.3)
        # not idempotent: a cut-off trip would make it raise "may or may not have been done"
        busy = asyncio.create_task(connections.run(0, slow, extra=3, idempotent=False))
        with pytest.raises(BackendUnavailable, match="TRYAGAIN"):
            await late
        assert await busy is None  # BLPOP timed out by itself, its trip untouched
        pipeline = connections.pipeline(connections.client(0))
        assert pipeline.stats.failed_trips == 0
    finally:
        await connections.close()
