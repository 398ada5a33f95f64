"""Entries a process cannot read: e.g. from a process with symmetric_encryption_keys, read
by one without (or with other keys)."""

from __future__ import annotations

import asyncio
import logging

from tidings.layers.redis import RedisChannelLayer

KEY = "a" * 32


async def test_one_unreadable_entry_is_skipped_and_the_rest_delivered(own_redis, caplog):
    """Promise: an entry that cannot be decoded is counted, logged with its reason and
    skipped; every good entry of the same batch, for any channel, is delivered; the
    reader keeps running."""
    reader = RedisChannelLayer(hosts=[own_redis.url], prefix="fbad")
    plain = RedisChannelLayer(hosts=[own_redis.url], prefix="fbad")
    secret = RedisChannelLayer(
        hosts=[own_redis.url], prefix="fbad", symmetric_encryption_keys=[KEY]
    )
    try:
        one, two = await reader.new_channel(), await reader.new_channel()
        await reader.group_add("room", one)
        reader.readers[0].stop()  # let a batch build up: good and bad entries together
        await asyncio.sleep(0.1)
        await plain.send(one, {"type": "t", "i": 0})
        await secret.send(two, {"type": "t", "i": 1})
        await secret.group_send("room", {"type": "t", "i": 2})
        await plain.send(two, {"type": "t", "i": 3})
        await plain.group_send("room", {"type": "t", "i": 4})
        reader.readers[0].ensure_running()
        assert (await asyncio.wait_for(reader.receive(one), 5))["i"] == 0
        assert (await asyncio.wait_for(reader.receive(two), 5))["i"] == 3
        assert (await asyncio.wait_for(reader.receive(one), 5))["i"] == 4
        assert reader.readers[0].bad_entries == 2
        assert reader.statistics().dropped == 2
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and "unreadable" in errors[0]
        assert reader.readers[0].task is not None and not reader.readers[0].task.done()
    finally:
        for layer in (reader, plain, secret):
            await layer.close()


async def test_an_unreadable_entry_on_a_normal_channel_is_skipped(own_redis, caplog):
    """Promise: the same on a normal channel: receive skips (and counts) what it cannot
    read and returns the next good message; it never raises a decoding error."""
    reader = RedisChannelLayer(hosts=[own_redis.url], prefix="fbadn")
    secret = RedisChannelLayer(
        hosts=[own_redis.url], prefix="fbadn", symmetric_encryption_keys=[KEY]
    )
    try:
        await secret.send("work", {"type": "t", "i": 1})
        await reader.send("work", {"type": "t", "i": 2})
        assert (await asyncio.wait_for(reader.receive("work"), 5))["i"] == 2
        assert reader.statistics().dropped == 1
        assert any("unreadable" in r.getMessage() for r in caplog.records)
    finally:
        await reader.close()
        await secret.close()
