"""Membership churn from two event loops of one process (the server's loop and
``layer.sync``/``async_to_sync`` next to it, as the README recommends)."""

from __future__ import annotations

import asyncio

from tidings.layers.redis import RedisChannelLayer

TRIES = 40


async def test_concurrent_joins_and_leaves_from_two_loops_leave_redis_right(own_redis):
    """Promise: whatever the interleaving, after concurrent group_add/group_discard from
    two loops, the count Redis holds for the process equals the hub's: other processes'
    group_sends reach exactly the members there are (no deaf member, no ghost)."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fchurn")
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fchurn")
    wrong = []
    try:
        a, b = await layer.new_channel(), await layer.new_channel()
        await asyncio.to_thread(layer.sync.new_channel)  # start the other loop first
        for i in range(TRIES):
            group = f"g{i}"
            await layer.group_add(group, b)
            # join a here while b leaves on the other loop, and the reverse
            if i % 2:
                await asyncio.gather(
                    layer.group_add(group, a),
                    asyncio.to_thread(layer.sync.group_discard, group, b),
                )
            else:
                await asyncio.gather(
                    asyncio.to_thread(layer.sync.group_add, group, a),
                    layer.group_discard(group, b),
                )
            report = await sender.group_send(group, {"type": "t"})
            if report.members != 1:
                wrong.append((i, report.members))
        assert not wrong, f"{len(wrong)} of {TRIES} groups left wrong in Redis: {wrong[:5]}"
    finally:
        await layer.close()
        await sender.close()


async def test_a_divergence_heals_at_the_next_reconcile(own_redis):
    """Promise: if Redis and the hub disagree (here: Redis edited behind the layer's
    back), the heartbeat's periodic re-assertion restores what the hub holds."""
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fheal", heartbeat_interval=0.1)
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fheal", heartbeat_interval=0.1)
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        client = sender.connections.client(0)
        await client.delete(sender.keys.group("room"), sender.keys.group_meta("room"))
        assert (await sender.group_send("room", {"type": "t"})).members == 0

        async def healed() -> bool:
            return (await sender.group_send("room", {"type": "t"})).members == 1

        for _ in range(60):  # reconcile every 6 beats: 0.6 s here
            if await healed():
                break
            await asyncio.sleep(0.05)
        assert await healed()
    finally:
        await layer.close()
        await sender.close()
