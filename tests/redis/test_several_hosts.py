"""Three Redis servers: channels and groups sharded, no message lost (channels issue 1492)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from tidings.layers.redis import RedisChannelLayer

from ..servers import start_redis
from .procs import Peer

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def three_servers():
    servers = [start_redis() for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


async def test_direct_sends_to_process_specific_channels_always_arrive(three_servers):
    urls = [s.url for s in three_servers]
    peer = Peer("members", ",".join(urls), "multi1", "unused", 30, 5)
    try:
        channels = peer.expect("READY")
        sender = RedisChannelLayer(hosts=urls, prefix="multi1")
        for i in range(5):
            for channel in channels:
                await sender.send(channel, {"type": "t", "i": i})
        results = await asyncio.to_thread(peer.expect, "RESULT")
        assert len(results) == 30
        assert all(got == list(range(5)) for got in results.values())
        await sender.close()
    finally:
        peer.kill()


async def test_groups_spread_over_hosts_and_all_deliver(three_servers):
    urls = [s.url for s in three_servers]
    receiver = RedisChannelLayer(hosts=urls, prefix="multi2")
    sender = RedisChannelLayer(hosts=urls, prefix="multi2")
    groups = [f"room{n}" for n in range(12)]
    channel = await receiver.new_channel()
    for group in groups:
        await receiver.group_add(group, channel)
    for group in groups:
        report = await sender.group_send(group, {"type": "t", "group": group})
        assert (report.members, report.delivered) == (1, 1)
    got = {(await asyncio.wait_for(receiver.receive(channel), 5))["group"] for _ in groups}
    assert got == set(groups)
    holders = []
    for server in three_servers:
        client = aioredis.Redis.from_url(server.url)
        holders.append(len(await client.keys("multi2:{*}:group:*")))
        await client.aclose()
    assert sum(holders) == len(groups)
    assert all(n > 0 for n in holders), f"groups not spread over every host: {holders}"
    await receiver.flush()
    await receiver.close()
    await sender.close()


async def test_normal_channels_shard_and_flush_reaches_every_host(three_servers):
    urls = [s.url for s in three_servers]
    layer = RedisChannelLayer(hosts=urls, prefix="multi3")
    names = [f"queue{n}" for n in range(9)]
    for name in names:
        await layer.send(name, {"type": "t", "name": name})
    for name in names:
        assert (await asyncio.wait_for(layer.receive(name), 5))["name"] == name
    for name in names:
        await layer.send(name, {"type": "t"})
    await layer.flush()
    for server in three_servers:
        client = aioredis.Redis.from_url(server.url)
        assert [k for k in await client.keys("multi3:*") if not k.endswith(b"epoch")] == []
        await client.aclose()
    await layer.close()
