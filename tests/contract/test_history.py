"""Recovery of missed group messages by position, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from tidings import HistoryUnavailable
from tidings.rules.positions import POSITION_KEY, parse_position

pytestmark = pytest.mark.timeout(60)


async def take(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), 2)


async def test_messages_carry_positions_and_missed_ones_come_back(make_layer):
    layer = make_layer(history_groups=["feed.*"], history_size=10)
    channel = await layer.new_channel()
    await layer.group_add("feed.1", channel)
    for n in range(3):
        await layer.group_send("feed.1", {"type": "t", "n": n, "nested": [n]})
    got = [await take(layer, channel) for _ in range(3)]
    positions = [parse_position(m[POSITION_KEY]) for m in got]
    assert len({p.epoch for p in positions}) == 1
    assert [p.offset for p in positions] == [1, 2, 3]
    missed = await layer.group_history("feed.1", since=got[0][POSITION_KEY])
    assert missed == got[1:]
    assert await layer.group_history("feed.1", since=got[2][POSITION_KEY]) == []
    assert len(await layer.group_history("feed.1")) == 3


async def test_a_normal_channel_member_gets_the_same_position(make_layer):
    """A worker queue in a history group: its copy carries the position too (on Redis it
    is sent by the layer to the queue's own partition, not by the group's script)."""
    layer = make_layer(history_groups=["feed"])
    channel = await layer.new_channel()
    await layer.group_add("feed", channel)
    await layer.group_add("feed", "jobs.feed")
    await layer.group_send("feed", {"type": "t", "n": 1})
    mine, queued = await take(layer, channel), await take(layer, "jobs.feed")
    assert queued == mine and parse_position(queued[POSITION_KEY]).offset == 1


async def test_trimmed_history_says_so_instead_of_returning_part(make_layer):
    layer = make_layer(history_groups=["feed"], history_size=3)
    channel = await layer.new_channel()
    await layer.group_add("feed", channel)
    await layer.group_send("feed", {"type": "t", "n": 0})
    first = (await take(layer, channel))[POSITION_KEY]
    for n in range(1, 6):
        await layer.group_send("feed", {"type": "t", "n": n})
    with pytest.raises(HistoryUnavailable, match="trimmed") as info:
        await layer.group_history("feed", since=first)
    assert info.value.group == "feed"
    kept = await layer.group_history("feed")
    assert [m["n"] for m in kept] == [3, 4, 5]


async def test_expired_history_is_reported(make_layer):
    layer = make_layer(history_groups=["feed"], history_ttl=0.3)
    await layer.group_send("feed", {"type": "t"})
    kept = await layer.group_history("feed")
    await layer.group_send("feed", {"type": "t"})
    await asyncio.sleep(0.6)
    with pytest.raises(HistoryUnavailable):
        await layer.group_history("feed", since=kept[0][POSITION_KEY])


async def test_flush_changes_the_epoch(make_layer):
    layer = make_layer(history_groups=["feed"])
    await layer.group_send("feed", {"type": "t"})
    (before,) = await layer.group_history("feed")
    await layer.flush()
    await layer.group_send("feed", {"type": "t"})
    with pytest.raises(HistoryUnavailable, match="epoch changed"):
        await layer.group_history("feed", since=before[POSITION_KEY])


async def test_groups_without_history_are_untouched_and_say_so(make_layer):
    layer = make_layer(history_groups=["feed"])
    channel = await layer.new_channel()
    await layer.group_add("plain", channel)
    await layer.group_send("plain", {"type": "t"})
    assert POSITION_KEY not in await take(layer, channel)
    with pytest.raises(HistoryUnavailable, match="history_groups"):
        await layer.group_history("plain", since="x:1")
    with pytest.raises(ValueError, match="positions look like"):
        await layer.group_history("feed", since="garbage")
