"""Deadlines: late calls are cancelled by one sweeper, on-time calls are left alone."""

from __future__ import annotations

import asyncio
import time

from tidings.layers.redis.deadlines import Deadlines


async def test_a_late_call_is_cancelled_within_a_tick_and_marked_fired():
    deadlines = Deadlines()
    task = asyncio.current_task()
    token = deadlines.add(task, 0.1)
    started = time.monotonic()
    try:
        await asyncio.sleep(5)
    except asyncio.CancelledError:
        assert deadlines.fired(token)
        assert task is not None and task.uncancel() == 0
    finally:
        deadlines.remove(token)
    assert 0.1 <= time.monotonic() - started < 0.1 + 3 * Deadlines.TICK + 0.2


async def test_an_on_time_call_is_not_touched_and_the_sweeper_ends():
    deadlines = Deadlines()
    token = deadlines.add(asyncio.current_task(), 5)
    await asyncio.sleep(0.01)
    assert not deadlines.fired(token)
    deadlines.remove(token)
    await asyncio.sleep(2 * Deadlines.TICK)
    assert deadlines.sweeper is not None and deadlines.sweeper.done()
