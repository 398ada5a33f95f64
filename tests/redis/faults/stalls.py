"""Checks shared by the modules whose fault is a Redis that accepts but never answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from tidings import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer

TIMEOUT = 1.0
# What "within timeout" may overrun by on a loaded 2-core machine.
SLACK = 1.0
STALL = 6.5  # seconds Redis stays silent: the five calls below fit in it


async def calls_raise_within_timeout(
    url: str, stall: Callable[[], None], resume: Callable[[], None], prefix: str
) -> None:
    """While Redis is stalled every call raises BackendUnavailable within ``timeout``;
    afterwards the same layer works again and a receiver gets what was sent before."""
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, timeout=TIMEOUT)
    other = RedisChannelLayer(hosts=[url], prefix=prefix, timeout=TIMEOUT)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await other.send(channel, {"type": "before"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "before"
    stall()
    try:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: other.send(channel, {"type": "t"}),
            lambda: other.send("worker", {"type": "t"}),
            lambda: other.group_send("room", {"type": "t"}),
            lambda: other.group_add("room", "worker"),
            lambda: other.group_channels("room"),
        ]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1"):
                await call()
            elapsed = time.monotonic() - started
            assert elapsed < TIMEOUT + SLACK, f"a call took {elapsed:.2f}s with timeout=1"
    finally:
        resume()
    started = time.monotonic()
    await other.send(channel, {"type": "after"})
    # A call cut off by its deadline has an unknown outcome: Redis may still run what
    # it had already received (a SIGSTOPped server reads it on SIGCONT). So the send
    # made during the stall may arrive first; nothing else may.
    seen = []
    while not seen or seen[-1] != "after":
        seen.append((await asyncio.wait_for(layer.receive(channel), 10))["type"])
    assert seen in (["after"], ["t", "after"]), seen
    assert time.monotonic() - started < 8
    report = await other.group_send("room", {"type": "t"})
    assert (report.members, report.delivered) == (1, 1)
    await layer.close()
    await other.close()
