"""Real faults: redis-server killed and restarted, a receiving process SIGKILLed."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time

import pytest

from tidings import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer

from ...servers import RedisServer, free_port, start_redis
from ..procs import Peer

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture
def own_redis():
    server = start_redis()
    yield server
    server.stop()


async def wait_for_members(layer, group: str, members: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            report = await layer.group_send(group, {"type": "probe", "i": -1})
            if report.members == members:
                return
        except BackendUnavailable:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"group {group} did not reach {members} members in {seconds}s")


async def wait_drained(layer, prefix: str, seconds: float = 10) -> None:
    client = layer.connections.client(0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mailboxes = await client.keys(f"{prefix}:mailbox:*")
        if not mailboxes or all([await client.xlen(k) == 0 for k in mailboxes]):
            await asyncio.sleep(0.2)  # let the last popped batch reach the peer
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the peer did not drain its mailbox")


async def test_redis_restart_mid_traffic_receivers_resume_by_themselves(own_redis, request):
    prefix = "fault1"
    peer = Peer("members", own_redis.url, prefix, "live", 3, 20)
    try:
        peer.expect("READY")
        layer = RedisChannelLayer(hosts=[own_redis.url], prefix=prefix, timeout=1.0)
        for i in range(10):
            assert (await layer.group_send("live", {"type": "t", "i": i})).delivered == 3
        # What Redis still holds when it is SIGKILLed dies with it (no persistence):
        # kill it only once the peer has taken everything out of its inbox.
        await wait_drained(layer, prefix)
        own_redis.kill()
        started = time.monotonic()
        with pytest.raises(
            BackendUnavailable, match=r"redis://127\.0\.0\.1:\d+/0 failed for 1s: it is unreach"
        ):
            await layer.group_send("live", {"type": "t", "i": 99})
        assert time.monotonic() - started < 5, "the bounded wait was not bounded"
        restarted = RedisServer(own_redis.port).start()  # same port, empty: no persistence
        request.addfinalizer(restarted.stop)
        # The peer's reader reconnects and re-announces its memberships by itself.
        await wait_for_members(layer, "live", 3)
        for i in range(10, 20):
            assert (await layer.group_send("live", {"type": "t", "i": i})).delivered == 3
        results = await asyncio.to_thread(peer.expect, "RESULT", 60)
        for got in results.values():
            assert got == list(range(20)), got  # nothing lost, nothing twice, in order
        await layer.close()
    finally:
        peer.kill()


async def test_send_during_outage_raises_a_clear_error_after_the_bounded_wait():
    port = free_port()  # nothing listens here
    layer = RedisChannelLayer(hosts=[f"redis://:hunter2@127.0.0.1:{port}/0"], timeout=0.5)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        await layer.send("somewhere", {"type": "t"})
    elapsed = time.monotonic() - started
    assert 0.2 < elapsed < 3
    text = str(info.value)
    assert f"127.0.0.1:{port}" in text and "hunter2" not in text and "timeout" in text
    assert isinstance(info.value, ConnectionError)
    await layer.close()


async def test_sigkilled_receiver_does_not_slow_others_and_its_membership_ends(own_redis):
    prefix = "fault3"
    options = {"heartbeat_interval": 0.3, "group_expiry": 4}
    doomed = Peer("members", own_redis.url, prefix, "room", 5, 1000, options=options)
    healthy = Peer("members", own_redis.url, prefix, "room", 5, 40, options=options)
    try:
        doomed.expect("READY")
        healthy.expect("READY")
        layer = RedisChannelLayer(hosts=[own_redis.url], prefix=prefix, **options)
        costs_before = []
        for i in range(20):
            started = time.perf_counter()
            assert (await layer.group_send("room", {"type": "t", "i": i})).delivered == 10
            costs_before.append(time.perf_counter() - started)
        doomed.process.kill()  # SIGKILL: no goodbye, no group_discard
        doomed.wait()
        await asyncio.sleep(1.5)  # > 3 heartbeats: the process counts as gone
        costs_after = []
        for i in range(20, 40):
            started = time.perf_counter()
            report = await layer.group_send("room", {"type": "t", "i": i})
            costs_after.append(time.perf_counter() - started)
            assert (report.members, report.delivered, report.dropped) == (10, 5, 5)
        # Medians: one scheduler hiccup on a 2-core machine must not decide this.
        before, after = statistics.median(costs_before), statistics.median(costs_after)
        assert after < before * 3 + 0.005, (before, after)
        results = await asyncio.to_thread(healthy.expect, "RESULT", 60)
        assert all(got == list(range(40)) for got in results.values())
        await asyncio.sleep(4.5)  # group_expiry: the dead process's membership is gone
        report = await layer.group_send("room", {"type": "t", "i": 99})
        assert report.members == 0
        await layer.close()
    finally:
        doomed.kill()
        healthy.kill()


async def test_reconnect_is_logged_without_secrets(own_redis, caplog, request):
    layer = RedisChannelLayer(hosts=[own_redis.url], prefix="fault4", timeout=1.0)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "t"})
    assert (await layer.receive(channel))["type"] == "t"
    with caplog.at_level(logging.WARNING, logger="tidings"):
        own_redis.kill()
        await asyncio.sleep(0.5)
        request.addfinalizer(RedisServer(own_redis.port).start().stop)
        other = RedisChannelLayer(hosts=[own_redis.url], prefix="fault4")
        await asyncio.sleep(1.5)
        await other.send(channel, {"type": "after-restart"})
        assert (await asyncio.wait_for(layer.receive(channel), 10))["type"] == "after-restart"
    messages = [r.getMessage() for r in caplog.records]
    assert any("lost Redis" in m for m in messages)
    assert any("is back on Redis" in m for m in messages)
    assert layer.statistics().reconnects == 1
    await layer.close()
    await other.close()
