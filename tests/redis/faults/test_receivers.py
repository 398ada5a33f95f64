"""Receivers that fail: a process SIGKILLed, a process whose inbox is full, a consumer
that never reads."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tidings import ChannelFull
from tidings.layers.redis import RedisChannelLayer

from ..procs import Peer

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test


async def test_a_killed_process_is_reported_gone_then_no_longer_counted(own_redis, caplog):
    """Promise: members of a SIGKILLed process are reported as ``gone`` (not at
    capacity), the warning names the real cause, and once the process is known dead
    (dead_after: 30 missed heartbeats) they are no longer counted at all."""
    options = {"heartbeat_interval": 0.1}
    doomed = Peer("members", own_redis.url, "fgone", "room", 3, 1000, options=options)
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fgone", **options)
    try:
        doomed.expect("READY")
        report = await layer.group_send("room", {"type": "t", "i": 0})
        assert (report.members, report.delivered, report.gone) == (3, 3, 0)
        doomed.process.kill()
        doomed.wait()
        killed = time.monotonic()
        await asyncio.sleep(0.6)  # > 3 heartbeats: gone
        report = await layer.group_send("room", {"type": "t", "i": 1})
        assert (report.members, report.delivered, report.dropped, report.gone) == (3, 0, 3, 3)
        assert not report.ok
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("stopped heartbeating" in w for w in warnings), warnings
        assert not any("at capacity" in w for w in warnings), warnings
        while time.monotonic() - killed < 10:
            report = await layer.group_send("room", {"type": "t", "i": 2})
            if report.members == 0:
                break
            await asyncio.sleep(0.2)
        forgotten = time.monotonic() - killed
        assert (report.members, report.gone, report.ok) == (0, 0, True), report
        assert forgotten < layer.dead_after_ms / 1000 + 2
        print(f"dead process gone after ~0.3s, forgotten after {forgotten:.1f}s")
    finally:
        doomed.kill()
        await layer.close()


async def test_remote_group_add_to_a_full_inbox_raises_and_adds_nobody(own_redis):
    """Promise: a group_add/group_discard for another process's channel whose inbox is
    full raises ChannelFull and changes nothing: no later group_send counts a member
    that never joined."""
    target = RedisChannelLayer(hosts=[own_redis.url], prefix="ffull")
    other = RedisChannelLayer(hosts=[own_redis.url], prefix="ffull", mailbox_capacity=5)
    try:
        channel = await target.new_channel()
        await target.send(channel, {"type": "warm"})  # the reader has beaten once
        assert (await target.receive(channel))["type"] == "warm"
        target.readers[0].stop()  # the target stalls: its inbox fills up
        await asyncio.sleep(0.1)
        for i in range(5):
            await other.send(channel, {"type": "t", "i": i})
        with pytest.raises(ChannelFull):
            await other.send(channel, {"type": "t", "i": 5})
        with pytest.raises(ChannelFull, match="Nothing was changed"):
            await other.group_add("room", channel)
        with pytest.raises(ChannelFull, match="Nothing was changed"):
            await other.group_discard("room", channel)
        report = await other.group_send("room", {"type": "t"})
        assert report.members == 0, report
        target.readers[0].ensure_running()  # it recovers and drains
        got = [(await asyncio.wait_for(target.receive(channel), 5))["i"] for _ in range(5)]
        assert got == list(range(5))
        report = await other.group_send("room", {"type": "t"})
        assert (report.members, report.delivered) == (0, 0), report
    finally:
        await target.close()
        await other.close()


async def test_a_consumer_that_never_reads_has_every_drop_counted_and_named(own_redis, caplog):
    """Promise: messages for a channel nobody reads are dropped at its capacity in the
    receiving process, each one counted there (statistics().dropped) and the channel
    named in a warning; other channels of that process are unaffected."""
    receiver = RedisChannelLayer(hosts=[own_redis.url], prefix="fidle", capacity=10)
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fidle")
    try:
        idle = await receiver.new_channel()
        busy = await receiver.new_channel()
        for i in range(25):
            await sender.send(idle, {"type": "t", "i": i})
        await sender.send(busy, {"type": "t", "i": -1})
        assert (await asyncio.wait_for(receiver.receive(busy), 5))["i"] == -1
        stats = receiver.statistics()
        assert stats.dropped == 15 and stats.queued == 10, stats
        assert stats.received >= 0
        assert any(idle in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    finally:
        await receiver.close()
        await sender.close()
