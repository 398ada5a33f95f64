"""Error replies from a Redis that is up: OOM under maxmemory + noeviction, READONLY from
a replica (the state right after a failover). They are waited out, never a crash loop."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from tidings import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer

from ...servers import start_redis
from .conftest import tidings_lines

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test


def fill(port: int) -> None:
    """Put Redis over its memory limit (noeviction): ballast, then a limit below it."""
    admin = redis.Redis(port=port)
    for i in range(20):
        admin.set(f"ballast:{i}", b"x" * 100_000)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1mb")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        admin.rpush("probe", "x")
    admin.close()


async def test_out_of_memory_is_waited_out_and_named(caplog):
    """Promise: while Redis answers OOM, the reader backs off (counted, one log line, no
    unretrieved task exception, no busy loop), calls raise BackendUnavailable naming
    the host and the reason within timeout; once memory frees up, messages flow again."""
    server = start_redis()
    layer = RedisChannelLayer(
        hosts=[server.url], prefix="foom", timeout=1.0, heartbeat_interval=0.5
    )
    other = RedisChannelLayer(hosts=[server.url], prefix="foom", timeout=1.0)
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        waiting = asyncio.ensure_future(layer.receive(channel))
        waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
        await asyncio.sleep(0.2)
        fill(server.port)
        await asyncio.sleep(2.5)  # the reader's heartbeat is a write: it now gets OOM
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1.*out of memory"):
            await other.send(channel, {"type": "t"})
        assert time.monotonic() - started < 2.0
        errors = layer.statistics().backend_errors
        assert 1 <= errors < 40, f"{errors} failed round trips in 2.5 s: a busy loop"
        assert len(tidings_lines(caplog, "lost Redis")) == 1
        assert "out of memory" in tidings_lines(caplog, "lost Redis")[0]
        admin = redis.Redis(port=server.port)
        admin.config_set("maxmemory", "0")  # memory is back
        admin.close()
        started = time.monotonic()
        await other.send(channel, {"type": "after"})
        assert (await asyncio.wait_for(waiting, 10))["type"] == "after"
        print(f"messages flowed again {time.monotonic() - started:.2f}s after OOM ended")
        assert len(tidings_lines(caplog, "is back on Redis")) == 1
    finally:
        waiting.cancel()
        await layer.close()
        await other.close()
        server.stop()


async def test_a_read_only_replica_is_waited_out_and_named(own_redis, caplog):
    """Promise: pointed at a replica (READONLY replies), the reader backs off with one
    log line and calls raise BackendUnavailable saying it is a read-only replica."""
    replica = start_redis("--replicaof", "127.0.0.1", str(own_redis.port))
    layer = RedisChannelLayer(hosts=[replica.url], prefix="fro", timeout=1.0)
    try:
        channel = await layer.new_channel()
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="read-only replica"):
            await layer.send("elsewhere", {"type": "t"})
        assert time.monotonic() - started < 2.0
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(2.0)
        assert not waiting.done()
        assert 1 <= layer.statistics().backend_errors < 40
        assert len(tidings_lines(caplog, "lost Redis")) == 1
        assert "read-only replica" in tidings_lines(caplog, "lost Redis")[0]
        waiting.cancel()
    finally:
        await layer.close()
        replica.stop()


async def test_busy_replies_during_a_long_script_are_waited_out_and_named(caplog):
    """Promise: while another client's script keeps Redis BUSY, calls raise
    BackendUnavailable within timeout saying Redis is busy, the reader backs off with one
    log line, and everything works again once the script ends."""
    server = start_redis("--busy-reply-threshold", "100")
    layer = RedisChannelLayer(hosts=[server.url], prefix="fbusy", timeout=1.0)
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "warm"})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "warm"
        busy_for = 3
        spin = (
            "local s = tonumber(redis.call('TIME')[1]) "
            "while tonumber(redis.call('TIME')[1]) < s + tonumber(ARGV[1]) do end return 1"
        )
        admin = redis.Redis(port=server.port)
        spinner = asyncio.ensure_future(asyncio.to_thread(admin.eval, spin, 0, busy_for))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="busy running a long script"):
            await layer.send("work", {"type": "t"})
        assert time.monotonic() - started < 2.0
        await spinner
        admin.close()
        await layer.send("work", {"type": "after"})
        assert (await asyncio.wait_for(layer.receive("work"), 10))["type"] == "after"
        assert len(tidings_lines(caplog, "lost Redis")) <= 1
    finally:
        await layer.close()
        server.stop()
