"""The memory layer frees what has a TTL once it is over, measured, not assumed."""

from __future__ import annotations

import tracemalloc

from tidings import MemoryChannelLayer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_history_groups_are_freed_after_history_ttl():
    """Defect: 5,000 rooms x 20 KB with history_ttl=0.2 still held ~100 MB."""
    clock = Clock()
    layer = MemoryChannelLayer.with_clock(
        clock, history_groups=["room.*"], history_ttl=0.2, history_size=10
    )
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for room in range(2_000):
            text = f"{room:05}" + "x" * 20_000  # one distinct 20 KB string per room
            await layer.group_send(f"room.{room}", {"type": "chat.message", "text": text})
        held = tracemalloc.get_traced_memory()[0] - base
        clock.now += 0.3
        await layer.group_send("lobby", {"type": "chat.message"})  # any later activity
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held > 2_000 * 20_000  # the messages were really kept while live
    assert len(layer.histories) == 0
    assert after < held / 20, f"{after:,} bytes still held of {held:,}"


async def test_a_history_appended_to_lives_on_and_is_freed_later():
    clock = Clock()
    layer = MemoryChannelLayer.with_clock(clock, history_groups=["h"], history_ttl=1.0)
    await layer.group_send("h", {"type": "t", "i": 1})
    clock.now += 0.8
    await layer.group_send("h", {"type": "t", "i": 2})
    clock.now += 0.5  # the first entry expired, the second has not
    assert [m["i"] for m in await layer.group_history("h")] == [2]
    clock.now += 0.6
    await layer.group_send("other", {"type": "t"})
    assert len(layer.histories) == 0
    assert await layer.group_history("h") == []
