"""Recovery across processes: a killed receiver's successor catches up; a restart is named."""

from __future__ import annotations

import asyncio

import pytest

from tidings import HistoryUnavailable
from tidings.layers.redis import RedisChannelLayer
from tidings.rules.positions import POSITION_KEY

from ..servers import RedisServer, start_redis
from .procs import Peer

pytestmark = pytest.mark.timeout(90)


async def test_successor_of_a_killed_process_recovers_exactly_what_it_missed(redis_server):
    options = {"history_groups": ["ticker"]}
    peer = Peer("members", redis_server.url, "hist1", "ticker", 1, 1000, options=options)
    try:
        peer.expect("READY")
        sender = RedisChannelLayer(hosts=[redis_server.url], prefix="hist1", **options)
        for i in range(5):
            await sender.group_send("ticker", {"type": "t", "i": i})
        last_seen = None
        for _ in range(5):
            last_seen = await asyncio.to_thread(peer.expect, "POSITION")
        peer.process.kill()  # SIGKILL: whatever comes next, it misses
        peer.wait()
        for i in range(5, 9):
            await sender.group_send("ticker", {"type": "t", "i": i})
        successor = RedisChannelLayer(hosts=[redis_server.url], prefix="hist1", **options)
        missed = await successor.group_history("ticker", since=last_seen)
        assert [m["i"] for m in missed] == [5, 6, 7, 8]
        assert all(m[POSITION_KEY].split(":")[0] == last_seen.split(":")[0] for m in missed)
        await sender.flush()
        await sender.close()
        await successor.close()
    finally:
        peer.kill()


async def test_redis_restart_changes_the_epoch_and_recovery_says_so():
    server = start_redis()
    try:
        layer = RedisChannelLayer(hosts=[server.url], prefix="hist2", history_groups=["g"])
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "t"})
        seen = (await asyncio.wait_for(layer.receive(channel), 5))[POSITION_KEY]
        server.kill()
        server = RedisServer(server.port).start()
        other = RedisChannelLayer(hosts=[server.url], prefix="hist2", history_groups=["g"])
        await other.group_send("g", {"type": "after"})
        with pytest.raises(HistoryUnavailable, match="epoch changed"):
            await other.group_history("g", since=seen)
        await layer.close()
        await other.close()
    finally:
        server.stop()
