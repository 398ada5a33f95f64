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
