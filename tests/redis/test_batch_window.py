"""batch_window: under load group messages share mailbox reads; direct ones never wait.

Measured against real redis-servers: reads are counted by Redis itself (``INFO
commandstats``), latencies on the receiving side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis

from tidings.exceptions import ConfigurationError
from tidings.layers.redis import RedisChannelLayer

from ..servers import RedisServer, start_redis

pytestmark = pytest.mark.timeout(60)


def _xreads(port: int) -> int:
    client = redis.Redis(port=port)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


@pytest.mark.parametrize("window", [0.0, 0.05])
async def test_group_messages_under_load_share_reads(
    layers: Callable[..., RedisChannelLayer], window: float
) -> None:
    """100 group messages, one every ~5 ms (~10 per 0.05 s window): with the window the
    receiving process reads its mailbox once per message only until it has seen the
    pace (~20 messages), then once per window; every message still arrives, in order,
    at most about one window late. Without a window it reads once per message or so."""
    server = start_redis()
    try:
        receiver = layers(server.url, "bw", batch_window=window)
        sender = layers(server.url, "bw")
        channel = await receiver.new_channel()
        await receiver.group_add("room", channel)
        await sender.group_send("room", {"type": "warm"})
        assert (await asyncio.wait_for(receiver.receive(channel), 5))["type"] == "warm"
        before = _xreads(server.port)
        got: list[tuple[int, float]] = []

        async def take() -> None:
            for _ in range(100):
                message = await receiver.receive(channel)
                got.append((message["i"], time.time() - message["t"]))

        taking = asyncio.create_task(take())
        for i in range(100):
            await sender.group_send("room", {"type": "t", "i": i, "t": time.time()})
            await asyncio.sleep(0.005)
        await asyncio.wait_for(taking, 10)
        reads = _xreads(server.port) - before
        assert [i for i, _ in got] == list(range(100))
        worst = max(late for _, late in got)
        if window:
            assert reads <= 50, f"{reads} reads for 100 messages: the window did not batch"
            assert worst < window + 0.35, f"a message waited {worst:.3f}s"
        else:
            assert reads >= 70, f"{reads} reads for 100 messages"  # the test can tell
    finally:
        server.stop()


async def test_a_direct_message_is_read_at_once_even_with_a_long_window(
    redis_server: RedisServer, layers: Callable[..., RedisChannelLayer]
) -> None:
    """Ping-pong on direct channels with a 1 s window: each round trip takes a few
    milliseconds, since a read that brought a direct message is followed at once."""
    a = layers(redis_server.url, "bwd", batch_window=1.0)
    b = layers(redis_server.url, "bwd", batch_window=1.0)
    ping, pong = await a.new_channel(), await b.new_channel()
    started = time.monotonic()
    for i in range(10):
        await a.send(pong, {"type": "ping", "i": i})
        assert (await asyncio.wait_for(b.receive(pong), 5))["i"] == i
        await b.send(ping, {"type": "pong", "i": i})
        assert (await asyncio.wait_for(a.receive(ping), 5))["i"] == i
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"10 round trips took {elapsed:.2f}s: direct reads waited"


@pytest.mark.parametrize(
    ("window", "gap", "count", "bound"),
    [
        # Messages further apart than the window: the read that brings each has waited
        # longer than the window already.
        (0.5, 0.6, 3, 0.3),
        # Messages 100 ms apart with a 200 ms window: two per window, too few for holding
        # a read to pay (WORTH_HOLDING), so none waits out the window after the read
        # before it (each would be ~0.1 s late).
        (0.2, 0.1, 12, 0.06),
    ],
    ids=["low-load", "steady-trickle"],
)
async def test_slow_group_traffic_is_read_at_once(
    redis_server: RedisServer,
    layers: Callable[..., RedisChannelLayer],
    window: float,
    gap: float,
    count: int,
    bound: float,
) -> None:
    """Group messages ``gap`` apart arrive within ``bound`` of being sent."""
    receiver = layers(redis_server.url, "bwl", batch_window=window)
    sender = layers(redis_server.url, "bwl")
    channel = await receiver.new_channel()
    await receiver.group_add("room", channel)
    lates = []
    for i in range(count):
        await asyncio.sleep(gap)
        await sender.group_send("room", {"type": "t", "i": i, "t": time.time()})
        message = await asyncio.wait_for(receiver.receive(channel), 5)
        lates.append(time.time() - message["t"])
    assert max(lates) < bound, [round(x, 3) for x in lates]


@pytest.mark.parametrize("bad", [-0.001, 2.0, "1ms", True])
def test_batch_window_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="batch_window"):
        RedisChannelLayer(hosts=["redis://127.0.0.1:1"], batch_window=bad)  # type: ignore[arg-type]
