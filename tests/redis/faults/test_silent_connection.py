"""A connection that goes silent without a reset (a partition, a failover that moved the
address): only a deadline on every read can notice it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tidings.layers.redis import RedisChannelLayer

from ...servers import SilentProxy
from .conftest import eventually, tidings_lines

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test

DETECT_BOUND = 6.0  # block time (1 s) + GRACE (2 s) + backoff, with room for a busy machine


@pytest.fixture
def proxy(own_redis) -> Iterator[SilentProxy]:
    """A loopback proxy in front of the test's Redis that can go silent."""
    silent = SilentProxy(own_redis.port)
    yield silent
    silent.close()


async def _receiving(
    own_redis, proxy: SilentProxy, layers, prefix: str
) -> tuple[RedisChannelLayer, RedisChannelLayer, str]:
    """A receiver behind the proxy, a sender straight to Redis, and a channel that got one
    message already (the receiver's reader is up and reading through the proxy)."""
    layer = layers(proxy.url, prefix, heartbeat_interval=1.0)
    sender = layers(own_redis.url, prefix)
    channel = await layer.new_channel()
    await sender.send(channel, {"type": "t", "i": -1})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["i"] == -1
    return layer, sender, channel


async def test_reader_notices_a_silent_connection_and_resumes(own_redis, proxy, layers, caplog):
    """Promise: a reader whose connection goes silent notices within a few seconds,
    reconnects (counted), logs one line when lost and one when back, and receives
    again; messages sent from then on all arrive, in order."""
    layer, sender, channel = await _receiving(own_redis, proxy, layers, "fsilent")
    assert proxy.silence() >= 1
    silenced = time.monotonic()

    async def back() -> bool:
        return layer.statistics().reconnects >= 1

    recovered = await eventually(back, DETECT_BOUND + 5, "reconnecting")
    assert recovered == pytest.approx(time.monotonic() - silenced, abs=0.5)
    assert recovered < DETECT_BOUND, f"deaf for {recovered:.1f}s"
    for i in range(20):
        await sender.send(channel, {"type": "t", "i": i})
    got = [(await asyncio.wait_for(layer.receive(channel), 5))["i"] for _ in range(20)]
    assert got == list(range(20))
    assert len(tidings_lines(caplog, "lost Redis")) == 1
    assert len(tidings_lines(caplog, "is back on Redis")) == 1
    print(f"silent connection noticed and replaced in {recovered:.2f}s")


async def test_a_read_whose_reply_is_lost_is_read_again(own_redis, proxy, layers):
    """Promise (acknowledged reads): the reader's blocking read reached Redis, took the
    entries that arrived, and its reply was lost with the connection. Those entries are
    read again on the new connection: every message arrives, once, in order."""
    layer, sender, channel = await _receiving(own_redis, proxy, layers, "flostreply")
    await asyncio.sleep(0.3)  # the reader is waiting in its next blocking read
    assert proxy.silence() >= 1
    # Sent while that read waits in Redis: Redis answers it with these, into silence.
    for i in range(5):
        await sender.send(channel, {"type": "t", "i": i})
    for i in range(5, 10):
        await asyncio.sleep(0.2)
        await sender.send(channel, {"type": "t", "i": i})
    got = [(await asyncio.wait_for(layer.receive(channel), 10))["i"] for _ in range(10)]
    assert got == list(range(10))
    await asyncio.sleep(0.5)
    assert layer.hub.statistics().received == 11, "an entry was delivered twice"
    assert layer.statistics().reconnects >= 1
