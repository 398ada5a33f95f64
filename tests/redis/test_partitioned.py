"""Partitions on one Redis: the Cluster's key layout, checked where slots cannot move."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from tidings.exceptions import ConfigurationError
from tidings.layers.redis import RedisChannelLayer
from tidings.layers.redis.partitions import key_slot


@pytest.mark.parametrize("bad", [0, -1, 1025, 2.0, True, "16"])
def test_a_bad_partition_count_names_the_option_and_the_range(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"partitions must be a whole number from 1 to"):
        RedisChannelLayer(partitions=bad)  # type: ignore[arg-type]


def test_partitions_default_to_one_per_host() -> None:
    assert RedisChannelLayer().partitions == 1
    assert RedisChannelLayer(hosts=["redis://a:1", "redis://b:1"]).partitions == 2
    assert RedisChannelLayer(hosts=["redis+cluster://a:1"]).partitions == 16


async def test_groups_in_every_partition_reach_a_process_through_each_mailbox(redis_server):
    """Eight partitions on one Redis: every group's keys share one slot, a member
    process gets group messages through its mailbox in the group's partition and direct
    messages through its home mailbox; a normal-channel member is sent to in its own."""
    receiver = RedisChannelLayer(hosts=[redis_server.url], prefix="parts", partitions=8)
    sender = RedisChannelLayer(hosts=[redis_server.url], prefix="parts", partitions=8)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        channel = await receiver.new_channel()
        groups = [f"room{n}" for n in range(24)]
        assert len({receiver.keys.partition(g) for g in groups}) == 8
        for group in groups:
            await receiver.group_add(group, channel)
        await sender.group_add("room0", "worker.q")
        for group in groups:
            report = await sender.group_send(group, {"type": "t", "group": group})
            assert report.delivered == report.members == (2 if group == "room0" else 1)
        await sender.send(channel, {"type": "t", "group": "direct"})
        got = {(await asyncio.wait_for(receiver.receive(channel), 5))["group"] for _ in range(25)}
        assert got == {*groups, "direct"}
        assert (await asyncio.wait_for(receiver.receive("worker.q"), 5))["group"] == "room0"
        keys = [k.decode() for k in await client.keys("parts:*")]
        for key in keys:  # every key is in a partition: prefix, then a tag
            assert key.startswith("parts:{t"), key
        for group in groups:  # a group's keys and its partition's alive share one slot
            slots = {key_slot(k) for k in sender.keys.history(group)}
            slots |= {key_slot(sender.keys.group(group)), key_slot(sender.keys.group_meta(group))}
            slots.add(key_slot(sender.keys.alive(sender.keys.partition(group))))
            assert len(slots) == 1
        mailboxes = [k for k in keys if ":mbox:" + receiver.instance in k]
        assert len(mailboxes) == 8  # one per partition, kept while the process lives
    finally:
        await receiver.flush()
        await receiver.close()
        await sender.close()
        await client.aclose()
