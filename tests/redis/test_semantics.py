"""Redis-only rules: whose channels a layer may read, and what a gone process costs senders."""

from __future__ import annotations

import asyncio
import logging

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
    sender = RedisChannelLayer(hosts=[redis_server.url], prefix="sem2", mailbox_capacity=3)
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


async def test_close_returns_with_every_job_popped_by_cancelled_receives_put_back(redis_server):
    """Several receives of one normal channel, cancelled while their pops wait in Redis;
    jobs then arrive and close() follows at once: when close() returns, every job is
    either received or back in Redis (none held by a pop that nobody will put back)."""
    prefix = "closeputback"
    producer = RedisChannelLayer(hosts=[redis_server.url], prefix=prefix)
    try:
        for round_ in range(5):
            channel = f"jobs{round_}"  # empty: the receives' pops wait in Redis
            consumer = RedisChannelLayer(hosts=[redis_server.url], prefix=prefix)
            receives = [asyncio.ensure_future(consumer.receive(channel)) for _ in range(4)]
            await asyncio.sleep(0.05)
            for task in receives:
                task.cancel()
            await asyncio.gather(*receives, return_exceptions=True)
            for n in range(8):
                await producer.send(channel, {"type": "job", "n": n})
            await consumer.close()
            client = producer.connections.client(0)
            queued = await client.llen(producer.keys.channel(channel))
            assert queued == 8, f"{8 - queued} job(s) popped and not put back by close()"
    finally:
        await producer.flush()
        await producer.close()


async def test_a_group_send_to_a_full_mailbox_names_the_mailbox_not_channel_capacity(
    redis_server, caplog
):
    """A member process whose mailbox is full (stalled) misses a group message: the report
    counts it and the warning names the mailbox and mailbox_capacity, not channel capacity
    (whose advice, "raise capacity", would not help)."""
    stalled = RedisChannelLayer(hosts=[redis_server.url], prefix="sem3")
    sender = RedisChannelLayer(hosts=[redis_server.url], prefix="sem3", mailbox_capacity=2)
    try:
        channel = await stalled.new_channel()
        await stalled.group_add("room", channel)
        await stalled.send(channel, {"type": "warm"})
        assert (await asyncio.wait_for(stalled.receive(channel), 5))["type"] == "warm"
        stalled.readers[0].stop()  # nobody drains its mailbox any more
        await asyncio.sleep(0.1)
        for i in range(2):
            await sender.send(channel, {"type": "t", "i": i})
        with caplog.at_level(logging.WARNING, logger="tidings"):
            report = await sender.group_send("room", {"type": "t"})
            sender.drops.flush()
        assert (report.members, report.delivered, report.dropped) == (1, 0, 1), report
        warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert warnings and "mailbox_capacity" in warnings[0], warnings
        assert "raise capacity or channel_capacity" not in warnings[0], warnings
    finally:
        await stalled.flush()
        await stalled.close()
        await sender.close()
