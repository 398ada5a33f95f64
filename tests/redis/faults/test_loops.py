"""Event loops and connections: a reader left on an idle loop, cancelled receives, and
the counters a fault must not corrupt."""

from __future__ import annotations

import asyncio
import contextlib

import redis

from tidings.layers.redis import RedisChannelLayer


async def test_a_reader_left_on_an_idle_loop_is_replaced(own_redis):
    """Promise: a reader started on a loop that is still open but no longer runs (an
    async_to_sync loop between calls, a finished test's loop) does not keep receivers
    on a running loop deaf: they get their messages within seconds."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fidle")
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fidle")
    idle = asyncio.new_event_loop()
    try:
        channel = await asyncio.to_thread(idle.run_until_complete, layer.new_channel())
        assert layer.readers[0].task is not None
        assert layer.readers[0].task.get_loop() is idle  # pinned there, idle from now on
        await sender.send(channel, {"type": "t"})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "t"
    finally:
        await layer.close()
        await sender.close()
        await asyncio.to_thread(idle.close)  # closed where no loop runs: it can clean up


async def test_cancelled_normal_channel_receives_do_not_pile_up_connections(own_redis):
    """Promise: many receives on a normal channel cancelled by a short timeout share
    one pending read instead of leaving a connection each; nothing they were about to
    take is lost."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fpile")
    admin = redis.Redis(port=own_redis.port)
    try:
        for _ in range(300):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive("work"), 0.002)
        clients = admin.client_list()
        assert len(clients) <= 5, f"{len(clients)} connections open"
        await layer.send("work", {"type": "t", "i": 1})
        assert (await asyncio.wait_for(layer.receive("work"), 5))["i"] == 1
    finally:
        admin.close()
        await layer.close()


async def test_received_never_goes_negative_when_entries_expire_in_redis(own_redis):
    """Promise (issue 10, defect 7, Redis half): entries that expired in Redis count as
    expired without pushing ``received`` below zero."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fneg", expiry=1.0)
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fneg", expiry=1.0)
    try:
        channel = await layer.new_channel()
        layer.readers[0].stop()
        await asyncio.sleep(0.1)
        for i in range(5):
            await sender.send(channel, {"type": "t", "i": i})
            await sender.send("work", {"type": "t", "i": i})
        await asyncio.sleep(0.6)
        # one more each keeps the lists (PEXPIRE) alive past the first five's deadline
        await sender.send(channel, {"type": "t", "i": 99})
        await sender.send("work", {"type": "t", "i": 99})
        await asyncio.sleep(0.5)  # the first five of each have expired in Redis
        assert (await asyncio.wait_for(layer.receive("work"), 5))["i"] == 99
        layer.readers[0].ensure_running()
        assert (await asyncio.wait_for(layer.receive(channel), 5))["i"] == 99
        stats = layer.statistics()
        assert stats.expired == 10, stats
        assert stats.received == 1, stats  # the inbox one; normal channels are not counted
    finally:
        await layer.close()
        await sender.close()
