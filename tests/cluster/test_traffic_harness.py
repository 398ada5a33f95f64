"""The counting harness of the failover and resharding tests, checked where tidings runs
today (one Redis): an undisturbed run counts everything once, and a real loss is seen."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from tidings.testing import RedisServer

from .harness import Traffic

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    server = RedisServer().start()  # its own: one test flushes it
    yield server
    server.stop()


async def test_an_undisturbed_run_counts_every_delivery_once(server: RedisServer) -> None:
    traffic = Traffic(server.url, seconds=1.0)
    try:
        traffic.go()
        tally = await asyncio.to_thread(traffic.finish)
    finally:
        traffic.stop()
    print("\n" + tally.summary())
    assert tally.sent > 10 and not tally.raised
    # every round: the group message at both receivers, the direct one at one
    assert len(tally.due) == tally.sent * 3
    assert sorted(tally.received) == sorted(tally.due)
    assert not tally.lost and not tally.duplicates and not tally.unsent


async def test_a_real_loss_is_counted(server: RedisServer) -> None:
    """FLUSHALL while a receiver is stopped: its queued entries and the membership go, so
    deliveries due to it are lost, and the tally must say so."""
    import redis

    traffic = Traffic(server.url, seconds=2.0)
    stopped = traffic.receivers[0].process.pid
    try:
        traffic.go()
        await asyncio.sleep(0.5)
        os.kill(stopped, signal.SIGSTOP)
        await asyncio.sleep(0.5)
        redis.Redis(port=server.port).flushall()
        os.kill(stopped, signal.SIGCONT)
        tally = await asyncio.to_thread(traffic.finish)
    finally:
        if traffic.receivers[0].process.poll() is None:
            os.kill(stopped, signal.SIGCONT)
        traffic.stop()
    print("\n" + tally.summary())
    assert tally.lost and all(receiver == 0 for receiver, _, _ in tally.lost[:5])
