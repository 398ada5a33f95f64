"""Guards on the Redis client library tidings depends on."""

import asyncio

import pytest
import redis.asyncio as aioredis


@pytest.mark.parametrize("steps", range(12))
async def test_cancel_during_connect_handshake_is_not_swallowed(redis_server, steps):
    # redis-py 8.1 loses a cancel that lands in the connection handshake; the task then
    # never ends and asyncio.run / async_to_sync hang. pyproject pins redis<8 for it.
    client = aioredis.Redis.from_url(redis_server.url)

    async def poll() -> None:
        while True:
            await client.execute_command("BLMPOP", 1, 1, "nothing", "LEFT", "COUNT", 1)

    task = asyncio.create_task(poll())
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=3)
    assert task in done, "the cancelled task is stuck inside redis-py"
    await client.aclose()


async def test_a_socket_timeout_in_hosts_cannot_make_a_cancellation_be_lost(redis_server):
    # With a socket_timeout, redis-py sends and reads through asyncio.wait_for, which on
    # Python 3.11 can return instead of raising when cancelled as the write completes
    # (CPython gh-86296): the cancelled task then never ends. The layer keeps the option
    # away from redis-py there and bounds calls with its own deadline instead.
    from tidings.layers.redis.connection import Connections
    from tidings.layers.redis.hosts import parse_hosts

    hosts = parse_hosts([{"address": redis_server.url, "socket_timeout": 5}])
    connections = Connections(hosts, 5.0)
    lost = []
    for steps in range(20):
        client = connections._make(hosts[0])

        async def poll(client: aioredis.Redis = client) -> None:
            while True:
                await client.execute_command("BLMPOP", 1, 1, "nothing", "LEFT", "COUNT", 1)

        task = asyncio.create_task(poll())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=3)
        if task not in done:
            lost.append(steps)
            task.cancel()
            await asyncio.wait([task], timeout=3)
        await client.aclose()
    assert not lost, f"cancellation lost after {lost} loop turns"
    assert connections.timeout <= 5.0
