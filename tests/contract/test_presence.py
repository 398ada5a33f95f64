"""Presence (who is in a group) and join/leave events, on every backend."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(60)


async def test_group_channels_and_size_follow_adds_and_discards(layer):
    a, b = await layer.new_channel(), await layer.new_channel()
    assert await layer.group_channels("room") == []
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_add("room", b)  # a refresh, not a second member
    await layer.group_add("room", "worker.queue")
    assert sorted(await layer.group_channels("room")) == sorted([a, b, "worker.queue"])
    assert await layer.group_size("room") == 3
    await layer.group_discard("room", a)
    await layer.group_discard("room", "worker.queue")
    assert await layer.group_channels("room") == [b]
    assert await layer.group_size("other") == 0


async def test_expired_memberships_leave_presence(make_layer):
    layer = make_layer(group_expiry=0.4)
    channel = await layer.new_channel()
    await layer.group_add("brief", channel)
    assert await layer.group_size("brief") == 1
    await asyncio.sleep(0.7)
    assert await layer.group_size("brief") == 0


async def test_presence_events_for_matching_groups_only(make_layer):
    layer = make_layer(presence_groups=["room.*"])
    watcher, newcomer = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room.1", watcher)
    first = await asyncio.wait_for(layer.receive(watcher), 2)
    assert first == {"type": "presence.join", "group": "room.1", "channel": watcher}
    await layer.group_add("room.1", newcomer)
    joined = await asyncio.wait_for(layer.receive(watcher), 2)
    assert joined == {"type": "presence.join", "group": "room.1", "channel": newcomer}
    assert (await asyncio.wait_for(layer.receive(newcomer), 2))["type"] == "presence.join"
    await layer.group_add("room.1", newcomer)  # a refresh announces nothing
    await layer.group_discard("room.1", newcomer)
    left = await asyncio.wait_for(layer.receive(watcher), 2)
    assert left == {"type": "presence.leave", "group": "room.1", "channel": newcomer}
    await layer.group_add("lobby", newcomer)  # not a presence group: silent
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(watcher), 0.2)


async def test_presence_does_not_change_group_send(make_layer):
    layer = make_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("g", channel)
    report = await layer.group_send("g", {"type": "t"})
    assert (report.members, report.delivered) == (3, 3)
    for channel in channels:
        assert (await asyncio.wait_for(layer.receive(channel), 2))["type"] == "t"
