"""CLIENT KILL: Redis closes every client connection (an admin, a proxy restart)."""

from __future__ import annotations

import asyncio
import time

import redis

from tidings.layers.redis import RedisChannelLayer


async def test_killed_connections_are_replaced_without_loss(own_redis):
    """Promise: after every connection is killed, the reader reconnects by itself within
    a few seconds (counted), and every message sent around the kill arrives exactly once,
    in order."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fkill")
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fkill")
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        for i in range(10):
            await sender.group_send("room", {"type": "t", "i": i})
        got = [(await asyncio.wait_for(layer.receive(channel), 5))["i"] for _ in range(10)]
        admin = redis.Redis(port=own_redis.port)
        killed = admin.execute_command("CLIENT", "KILL", "TYPE", "normal")
        admin.close()
        assert killed >= 2
        started = time.monotonic()
        for i in range(10, 30):
            await sender.group_send("room", {"type": "t", "i": i})
        got += [(await asyncio.wait_for(layer.receive(channel), 5))["i"] for _ in range(20)]
        assert got == list(range(30))
        recovered = time.monotonic() - started
        assert recovered < 5
        assert layer.statistics().reconnects == 1
        print(f"connections replaced and all delivered in {recovered:.2f}s")
    finally:
        await layer.close()
        await sender.close()
