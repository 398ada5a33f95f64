"""Redis-only rules: whose channels a layer may read, and what a gone process costs senders."""

from __future__ import annotations

import asyncio

import pytest

from tidings import ChannelFull
from tidings.layers.redis import RedisChannelLayer

pytestmark = pytest.mark.timeout(30)


async def test_receiving_on_another_instances_channel_is_refused(redis_server):
    mine = RedisChannelLayer(hosts=[redis_server.url], prefix="sem1")
    theirs = RedisChannelLayer(hosts=[redis_server.url], prefix="sem1")
    channel = await theirs.new_channel()
    with pytest.raises(ValueError, match="belongs to another layer instance"):
        await mine.receive(channel)
    await mine.close()
    await theirs.close()


async def test_a_gone_process_inbox_fills_then_send_raises_channel_full(redis_server):
    gone = RedisChannelLayer(hosts=[redis_server.url], prefix="sem2")
    channel = await gone.new_channel()
    await gone.close()  # its reader stops: nobody drains the inbox any more
    sender = RedisChannelLayer(hosts=[redis_server.url], prefix="sem2", inbox_capacity=3)
    for i in range(3):
        await sender.send(channel, {"type": "t", "i": i})
    with pytest.raises(ChannelFull, match="stalled or gone"):
        await sender.send(channel, {"type": "t", "i": 3})
    # Nothing accepted was lost: the process, back, reads all three in order.
    back = [(await asyncio.wait_for(gone.receive(channel), 5))["i"] for _ in range(3)]
    assert back == [0, 1, 2]
    await gone.flush()
    await gone.close()
    await sender.close()
