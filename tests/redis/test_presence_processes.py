"""Presence across real processes: a SIGKILLed process's members vanish, a restart heals."""

from __future__ import annotations

import asyncio
import time

import pytest

from tidings.layers.redis import RedisChannelLayer

from ..servers import RedisServer, start_redis
from .procs import Peer

pytestmark = pytest.mark.timeout(90)


async def wait_until(predicate, seconds: float = 15) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def test_members_of_a_killed_process_disappear_within_the_heartbeat_bound(redis_server):
    options = {"heartbeat_interval": 0.3}
    peer = Peer("members", redis_server.url, "pres1", "lounge", 4, 1000, options=options)
    try:
        remote = peer.expect("READY")
        layer = RedisChannelLayer(hosts=[redis_server.url], prefix="pres1", **options)
        mine = await layer.new_channel()
        await layer.group_add("lounge", mine)
        assert sorted(await layer.group_channels("lounge")) == sorted([*remote, mine])
        peer.process.kill()
        peer.wait()
        took = await wait_until(lambda: _size_is(layer, "lounge", 1))
        assert took < 3 * 0.3 + 1.5, f"members lingered {took:.1f}s after SIGKILL"
        assert await layer.group_channels("lounge") == [mine]
        await layer.flush()
        await layer.close()
    finally:
        peer.kill()


async def _size_is(layer, group: str, size: int) -> bool:
    return await layer.group_size(group) == size


async def test_presence_comes_back_after_redis_restarts_empty():
    server = start_redis()
    try:
        layer = RedisChannelLayer(hosts=[server.url], prefix="pres2", heartbeat_interval=0.3)
        channels = [await layer.new_channel() for _ in range(3)]
        for channel in channels:
            await layer.group_add("hall", channel)
        server.kill()
        await asyncio.sleep(0.3)
        server = RedisServer(server.port).start()
        other = RedisChannelLayer(hosts=[server.url], prefix="pres2")
        await wait_until(lambda: _size_is(other, "hall", 3))
        assert sorted(await other.group_channels("hall")) == sorted(channels)
        await layer.close()
        await other.close()
    finally:
        server.stop()
