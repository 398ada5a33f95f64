"""The mailbox stream a reader comes back to may not be the one it left: after a failover
the new master is a replica that may lack the newest entries and may still hold entries
the reader had already delivered (their trim not yet replicated), and its clock — which
numbers new entries — may be behind the old master's. Reads must neither skip the new
entries nor deliver the old ones twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis

from tidings.codec import to_bytes
from tidings.layers.redis import RedisChannelLayer, entry

from .conftest import eventually

pytestmark = pytest.mark.slow  # seconds of real reconnect time; still run by ./scripts/test


def _entry(channel: str, message: dict[str, object]) -> bytes:
    deadline = int(time.time() * 1000) + 60_000
    return entry.build(deadline, entry.DIRECT, channel, to_bytes(message))


async def _received(layer: RedisChannelLayer, channel: str, seconds: float = 10.0) -> object:
    return (await asyncio.wait_for(layer.receive(channel), seconds))["i"]


async def _replace_stream(
    layer: RedisChannelLayer, admin: redis.Redis, *items: tuple[str, bytes]
) -> None:
    """What a failover to a replica does to the reader's mailbox: a different stream (with
    ``items`` at the given ids) behind a connection that drops."""
    key = layer.readers[0].key
    admin.delete(key)
    for stream_id, data in items:
        admin.xadd(key, {"e": data}, id=stream_id)
    reconnects = layer.statistics().reconnects
    admin.execute_command("CLIENT", "KILL", "TYPE", "normal")

    async def back() -> bool:
        return layer.statistics().reconnects > reconnects

    await eventually(back, 10, "the reader reconnecting")


@pytest.fixture
def admin(own_redis) -> Iterator[redis.Redis]:
    client = redis.Redis(port=own_redis.port)
    yield client
    client.close()


async def test_entries_numbered_below_the_last_one_read_are_still_read(own_redis, layers, admin):
    """Promise: after the reader read an entry numbered in the future (the old master's
    clock was ahead), entries the new master numbers lower all arrive."""
    layer = layers(own_redis.url, "fcursor", heartbeat_interval=1.0)
    sender = layers(own_redis.url, "fcursor")
    channel = await layer.new_channel()
    ahead = int(time.time() * 1000) + 3_600_000
    admin.xadd(layer.readers[0].key, {"e": _entry(channel, {"i": -1})}, id=f"{ahead}-0")
    assert await _received(layer, channel) == -1
    await _replace_stream(layer, admin)
    for i in range(5):
        await sender.send(channel, {"type": "t", "i": i})
    assert [await _received(layer, channel) for _ in range(5)] == list(range(5))


async def test_entries_already_delivered_are_not_delivered_again(own_redis, layers, admin):
    """Promise: entries the reader delivered that come back with the new master (same ids:
    their trim had not reached the replica) are not delivered twice; the rest arrive."""
    layer = layers(own_redis.url, "fcursor2", heartbeat_interval=1.0)
    sender = layers(own_redis.url, "fcursor2")
    channel = await layer.new_channel()
    soon = int(time.time() * 1000) + 2_000
    delivered = [(f"{soon}-{n}", _entry(channel, {"i": -n})) for n in range(1, 4)]
    for stream_id, data in delivered:
        admin.xadd(layer.readers[0].key, {"e": data}, id=stream_id)
    assert [await _received(layer, channel) for _ in range(3)] == [-1, -2, -3]
    undelivered = (f"{soon}-9", _entry(channel, {"i": 100}))
    await _replace_stream(layer, admin, *delivered, undelivered)
    for i in range(3):
        await sender.send(channel, {"type": "t", "i": i})
    got = [await _received(layer, channel) for _ in range(4)]
    assert sorted(got) == [0, 1, 2, 100], got
    await asyncio.sleep(1.0)
    assert layer.hub.statistics().received == 7, "an entry was delivered twice"
