"""FLUSHALL mid-traffic (or a restart without persistence): Redis forgets every group."""

from __future__ import annotations

import asyncio
import time

import redis

from tidings.layers.redis import RedisChannelLayer


async def test_group_sends_after_flushall_say_the_counts_may_miss_members(own_redis, caplog):
    """Promise: after Redis lost its data, group_send never claims ok=True while members
    may be missing: its report says membership_reset=True until every process had the
    time to announce itself again (2 heartbeats); the members come back by themselves
    within that bound and then get every message."""
    options = {"heartbeat_interval": 0.5}
    member = RedisChannelLayer(hosts=[own_redis.url], prefix="fflush", **options)
    sender = RedisChannelLayer(hosts=[own_redis.url], prefix="fflush", **options)
    try:
        channel = await member.new_channel()
        await member.group_add("room", channel)
        report = await sender.group_send("room", {"type": "t"})
        assert (report.members, report.delivered, report.ok) == (1, 1, True)
        assert (await asyncio.wait_for(member.receive(channel), 5))["type"] == "t"
        admin = redis.Redis(port=own_redis.port)
        admin.flushall()
        admin.close()
        flushed = time.monotonic()
        reports = []
        while time.monotonic() - flushed < 5:
            report = await sender.group_send("room", {"type": "t"})
            reports.append(report)
            if report.ok and report.members == 1:
                break
            assert report.membership_reset, report  # never "0 members, ok" after a loss
            await asyncio.sleep(0.05)
        back = time.monotonic() - flushed
        assert reports[-1].ok and reports[-1].delivered == 1, reports[-1]
        assert back < 2 * 0.5 + 1.5, f"members took {back:.1f}s to come back"
        print(f"after FLUSHALL: {len(reports) - 1} reports flagged, members back in {back:.2f}s")
        assert any("emptied" in r.getMessage() for r in caplog.records)
    finally:
        await member.close()
        await sender.close()
