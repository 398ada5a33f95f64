"""AutoPipeline against a real redis-server: coalescing, ordering, errors, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from tidings.layers.redis.autopipeline import AutoPipeline

from ..servers import start_redis

pytestmark = pytest.mark.timeout(60)


def counting_client(url: str) -> tuple[aioredis.Redis, list[int]]:
    """A client whose connections count their socket writes: one per round trip."""
    writes = [0]

    class CountingConnection(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            writes[0] += 1
            await super().send_packed_command(command, check_health)

    client = aioredis.Redis.from_url(
        url, connection_class=CountingConnection, retry=Retry(NoBackoff(), 0)
    )
    return client, writes


@pytest.fixture
async def counted(redis_server) -> AsyncIterator[tuple[aioredis.Redis, list[int], str]]:
    client, writes = counting_client(redis_server.url)
    key = f"ap:{time.monotonic_ns()}"
    await client.ping()  # connect now, so handshakes are not counted as trips
    writes[0] = 0
    yield client, writes, key
    await client.delete(key, key + ":s")
    await client.aclose()


async def test_lone_call_is_sent_at_once_in_its_own_trip(counted):
    client, writes, key = counted
    pipeline = AutoPipeline(client)
    started = time.monotonic()
    task = asyncio.create_task(pipeline.call("RPUSH", key, "a"))
    for _ in range(5):  # a few loop turns, no timer: the trip is already on the socket
        await asyncio.sleep(0)
        if writes[0]:
            break
    assert writes[0] == 1, "a lone call waited for company"
    assert await task == 1
    assert time.monotonic() - started < 1.0
    assert (pipeline.stats.round_trips, pipeline.stats.largest_batch) == (1, 1)


async def test_lone_calls_one_after_another_go_inline(counted):
    """After a trip of one call, the same task's next lone call is written by that task
    itself (no hand-over to the sender task and back: two loop turns less for a
    sequential sender); a call made meanwhile waits for that trip and keeps its order;
    the connection is still the one held, given back after the linger."""
    client, writes, key = counted
    pool = client.connection_pool
    pipeline = AutoPipeline(client)
    first_done, go = asyncio.Event(), asyncio.Event()

    async def sequential() -> tuple[int, int]:
        first = await pipeline.call("RPUSH", key, "a")  # a trip of one call
        first_done.set()
        await go.wait()
        return first, await pipeline.call("RPUSH", key, "b")

    lone = asyncio.create_task(sequential())
    await first_done.wait()
    held = set(pool._in_use_connections)
    before = writes[0]
    go.set()
    await asyncio.sleep(0)  # the caller's step, which packs and writes the trip itself
    assert writes[0] == before + 1, "the lone call was handed to the sender task"
    behind = asyncio.create_task(pipeline.call("RPUSH", key, "c"))  # its trip is in flight
    assert (await lone, await behind) == ((1, 2), 3)
    assert await client.lrange(key, 0, -1) == [b"a", b"b", b"c"]
    assert pipeline.stats.round_trips == 3
    assert set(pool._in_use_connections) == held  # no checkout for the inline trip
    await asyncio.sleep(pipeline.linger * 3)
    assert not pool._in_use_connections and pipeline._sender is None
    await pipeline.aclose()


async def test_tasks_woken_together_after_a_lone_trip_share_one_trip(counted):
    """After a trip of one call, calls from several tasks running in the same loop turn
    (consumers woken by one mailbox read, each replying) go in one trip: only a task
    calling again after its own lone call makes its trip inline, so the first of them
    does not leave alone and split the rest off into a second trip."""
    client, _, key = counted
    pipeline = AutoPipeline(client)
    assert await pipeline.call("RPUSH", key, "a") == 1  # a trip of one call
    go = asyncio.Event()

    async def reply(i: int) -> int:
        await go.wait()
        return int(await pipeline.call("RPUSH", key, i))

    tasks = [asyncio.create_task(reply(i)) for i in range(5)]
    await asyncio.sleep(0)  # every task waits for go
    trips = pipeline.stats.round_trips
    go.set()
    assert sorted(await asyncio.gather(*tasks)) == [2, 3, 4, 5, 6]
    assert pipeline.stats.round_trips == trips + 1


async def test_burst_of_concurrent_calls_shares_few_round_trips(counted):
    client, writes, key = counted
    pipeline = AutoPipeline(client, max_batch=64)
    results = await asyncio.gather(*(pipeline.call("RPUSH", key, i) for i in range(200)))
    assert sorted(results) == list(range(1, 201))
    # 200 calls made in one loop turn: ceil(200 / 64) = 4 trips, seen on the socket too.
    assert pipeline.stats.round_trips == 4
    assert writes[0] == 4
    assert pipeline.stats.largest_batch == 64
    assert await client.llen(key) == 200


async def test_calls_made_during_a_trip_go_together_in_the_next(counted):
    client, writes, key = counted
    pipeline = AutoPipeline(client)
    first = asyncio.create_task(pipeline.call("RPUSH", key, "first"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first trip is in flight now
    rest = [asyncio.create_task(pipeline.call("RPUSH", key, i)) for i in range(30)]
    await asyncio.gather(first, *rest)
    assert pipeline.stats.round_trips == 2
    assert writes[0] == 2


async def test_one_callers_calls_reach_redis_in_the_order_made(counted):
    client, _, key = counted
    pipeline = AutoPipeline(client, max_batch=7)  # several trips, so order crosses trips
    tasks = [asyncio.create_task(pipeline.call("RPUSH", key, i)) for i in range(100)]
    await asyncio.gather(*tasks)
    for i in range(20):  # and awaited one by one
        await pipeline.call("RPUSH", key, 100 + i)
    assert [int(v) for v in await client.lrange(key, 0, -1)] == list(range(120))


async def test_wrongtype_in_the_middle_fails_that_call_only(counted):
    client, _, key = counted
    await client.set(key + ":s", "a string")
    pipeline = AutoPipeline(client)
    calls = [
        asyncio.create_task(pipeline.call("RPUSH", key, "a")),
        asyncio.create_task(pipeline.call("RPUSH", key + ":s", "x")),
        asyncio.create_task(pipeline.call("EVALSHA", "0" * 40, 0)),
        asyncio.create_task(pipeline.call("RPUSH", key, "b")),
    ]
    await asyncio.wait(calls)
    assert pipeline.stats.round_trips == 1
    assert await calls[0] == 1
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await calls[1]
    with pytest.raises(NoScriptError):
        await calls[2]
    assert await calls[3] == 2


async def test_caller_cancelled_before_its_trip_is_not_sent(counted):
    client, _, key = counted
    pipeline = AutoPipeline(client)
    tasks = [asyncio.create_task(pipeline.call("RPUSH", key, i)) for i in range(3)]
    await asyncio.sleep(0)  # all three queued; the sender has not run yet
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert done[0] == 1 and done[2] == 2
    assert isinstance(done[1], asyncio.CancelledError)
    assert await client.lrange(key, 0, -1) == [b"0", b"2"]


async def test_caller_cancelled_mid_trip_leaves_the_others_their_replies(redis_server, counted):
    client, _, key = counted
    pipeline = AutoPipeline(client)
    pauser = aioredis.Redis.from_url(redis_server.url)
    try:
        await pauser.execute_command("CLIENT", "PAUSE", 300, "WRITE")
        tasks = [asyncio.create_task(pipeline.call("RPUSH", key, i)) for i in range(5)]
        await asyncio.sleep(0.05)  # the trip is on the wire, held by the pause
        assert pipeline.stats.round_trips == 1
        tasks[2].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await pauser.execute_command("CLIENT", "UNPAUSE")
        await pauser.aclose()
    assert isinstance(done[2], asyncio.CancelledError)
    assert [done[i] for i in (0, 1, 3, 4)] == [1, 2, 4, 5]  # the cancelled one still ran
    assert await pipeline.call("LLEN", key) == 5  # and the pipeline goes on


async def test_connection_lost_mid_trip_fails_every_call_of_that_trip():
    server = start_redis()
    try:
        client, _ = counting_client(server.url)
        pipeline = AutoPipeline(client)
        # two at once: after a trip of one call the next lone call would go in its own
        # trip, in its caller's task (test_lone_calls_one_after_another_go_inline)
        assert await asyncio.gather(pipeline.call("PING"), pipeline.call("PING")) == [True] * 2
        pauser = aioredis.Redis.from_url(server.url)
        await pauser.execute_command("CLIENT", "PAUSE", 5000, "ALL")
        await pauser.aclose()
        tasks = [asyncio.create_task(pipeline.call("RPUSH", "k", i)) for i in range(5)]
        await asyncio.sleep(0.1)  # in flight, held by the pause
        server.kill()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(d, RedisConnectionError) for d in done), done
        assert pipeline.stats.failed_trips == 1
        # the server comes back on the same port: the next call reconnects
        server = start_redis(port=server.port)
        assert await pipeline.call("PING") is True
        await client.aclose()
    finally:
        server.stop()


async def test_close_fails_queued_calls_and_later_ones(counted):
    client, _, key = counted
    pipeline = AutoPipeline(client)
    tasks = [asyncio.create_task(pipeline.call("RPUSH", key, i)) for i in range(3)]
    await asyncio.sleep(0)
    await pipeline.aclose()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(d, RedisConnectionError) for d in done), done
    with pytest.raises(RedisConnectionError, match="closed"):
        await pipeline.call("PING")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_max_batch_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="max_batch"):
        AutoPipeline(None, max_batch=bad)  # type: ignore[arg-type]


async def test_a_trip_past_its_deadline_fails_its_calls_and_the_queue_goes_on(redis_server):
    """A trip held (here by CLIENT PAUSE, as a silent connection would) is cut off at its
    deadline: its calls fail with a connection error (their callers retry), and a call
    queued behind it is sent in the next trip instead of waiting for the pause."""
    from tidings.layers.redis.deadlines import Deadlines

    client = aioredis.Redis.from_url(redis_server.url, retry=Retry(NoBackoff(), 0))
    pipeline = AutoPipeline(client, trip_deadline=(Deadlines(), 0.3))
    pauser = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await pipeline.call("PING") is True
        await pauser.execute_command("CLIENT", "PAUSE", 3000, "WRITE")  # UNPAUSE still runs
        held = asyncio.create_task(pipeline.call("RPUSH", "ap:held", 1))
        await asyncio.sleep(0.05)  # in flight
        behind = asyncio.create_task(pipeline.call("RPUSH", "ap:behind", 1))
        started = time.monotonic()
        with pytest.raises(RedisConnectionError):
            await held
        assert time.monotonic() - started < 1.5  # the deadline, not the 3 s pause
        await pauser.execute_command("CLIENT", "UNPAUSE")
        assert await asyncio.wait_for(behind, 5) == 1
        assert pipeline.stats.failed_trips >= 1
    finally:
        with contextlib.suppress(Exception):
            await pauser.execute_command("CLIENT", "UNPAUSE")
        await pauser.aclose()
        await client.delete("ap:held", "ap:behind")
        await client.aclose()


async def test_abort_trip_cuts_off_the_trip_in_flight(redis_server):
    """A caller whose own deadline fired aborts the trip: its calls fail at once."""
    client = aioredis.Redis.from_url(redis_server.url, retry=Retry(NoBackoff(), 0))
    pipeline = AutoPipeline(client)
    pauser = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await pipeline.call("PING") is True
        await pauser.execute_command("CLIENT", "PAUSE", 3000, "WRITE")  # UNPAUSE still runs
        held = asyncio.create_task(pipeline.call("RPUSH", "ap:held", 1))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        pipeline.abort_trip()
        with pytest.raises(RedisConnectionError):
            await held
        assert time.monotonic() - started < 1.0
    finally:
        with contextlib.suppress(Exception):
            await pauser.execute_command("CLIENT", "UNPAUSE")
        await pauser.aclose()
        await client.delete("ap:held", "ap:behind")
        await client.aclose()


PACKED = [
    ("EVALSHA", "a" * 40, 2, "asgi:mailbox:ab", "k2", b"d003abc", b"\x00\xff\r\n", 60000, -5),
    ("RPUSH", "k", "é ü", b"", ""),
    ("PING",),
]


@pytest.mark.parametrize("commands", [PACKED, PACKED[:1], [("LLEN", "k")] * 3])
def test_pack_makes_the_bytes_redis_py_makes(commands):
    from tidings.layers.redis.autopipeline import pack

    conn = aioredis.Connection()
    assert pack(commands, conn) == b"".join(conn.pack_commands(commands))


@pytest.mark.parametrize(
    "odd",
    [("SET", "k", 1.5), ("SCRIPT LOAD", "return 1"), ("SET", "k", memoryview(b"v"))],
)
def test_pack_leaves_what_it_does_not_know_to_redis_py(odd):
    from tidings.layers.redis.autopipeline import pack

    conn = aioredis.Connection()
    commands = [("PING",), odd]
    assert pack(commands, conn) == conn.pack_commands(commands)


def test_pack_refuses_a_bool_as_redis_py_does():
    from redis.exceptions import DataError

    from tidings.layers.redis.autopipeline import pack

    with pytest.raises(DataError):
        pack([("SET", "k", True)], aioredis.Connection())


def test_pack_uses_redis_py_for_another_encoding():
    from tidings.layers.redis.autopipeline import pack

    conn = aioredis.Connection(encoding="latin-1")
    commands = [("SET", "k", "é")]
    assert pack(commands, conn) == conn.pack_commands(commands)
    assert b"\xe9" in b"".join(conn.pack_commands(commands))


async def test_replies_go_through_the_clients_response_callbacks(counted):
    client, _, key = counted
    pipeline = AutoPipeline(client)
    assert await pipeline.call("PING") is True  # redis-py maps PONG to True
    assert await pipeline.call("SET", key, "v") is True
    assert await pipeline.call("GET", key) == b"v"
    await client.delete(key)


async def test_back_to_back_trips_share_one_connection_given_back_when_idle(counted):
    client, _, key = counted
    pool = client.connection_pool
    pipeline = AutoPipeline(client, max_batch=2)
    used: set[int] = set()
    real = pipeline._round_trip

    async def spy(commands: list[tuple[Any, ...]]) -> list[Any]:
        used.update(id(c) for c in pool._in_use_connections)
        return await real(commands)

    pipeline._round_trip = spy  # type: ignore[method-assign]
    results = await asyncio.gather(*(pipeline.call("RPUSH", key, i) for i in range(10)))
    assert sorted(results) == list(range(1, 11))
    assert pipeline.stats.round_trips == 5
    assert len(used) == 1  # one connection for the 5 trips of the burst
    sender = pipeline._sender
    assert sender is not None  # lingering for company, with its connection
    assert await pipeline.call("RPUSH", key, 10) == 11  # a lone call, sent at once
    assert pipeline._sender is sender and len(used) == 1  # no new task, no checkout
    await asyncio.sleep(pipeline.linger * 3)
    # idle past the linger: the connection is back in the pool (free for a blocking
    # read) and the sender has ended
    assert len(pool._in_use_connections) == 0 and pipeline._sender is None
    assert await pipeline.call("LLEN", key) == 11
    await pipeline.aclose()


async def test_a_connection_the_pool_marks_for_reconnect_is_given_back_after_its_trip(counted):
    """A followed Sentinel failover marks busy connections for reconnection: the one the
    auto-pipeline holds must be closed and given back, as a pooled command's would be."""
    client, _, key = counted
    pool = client.connection_pool
    pipeline = AutoPipeline(client)
    assert await pipeline.call("RPUSH", key, "a") == 1
    first = asyncio.create_task(pipeline.call("RPUSH", key, "b"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # in flight: the pipeline holds its connection
    held = next(iter(pool._in_use_connections))
    closed: list[bool] = []
    real = held.disconnect

    async def disconnect(*args: Any, **kwargs: Any) -> None:
        closed.append(True)
        await real(*args, **kwargs)

    held.disconnect = disconnect  # type: ignore[method-assign]
    second = asyncio.create_task(pipeline.call("RPUSH", key, "c"))  # queued behind it
    held.mark_for_reconnect()
    assert await first == 2  # the trip in flight still ends on it
    assert closed  # then the connection was closed, so the next trip connects anew
    assert await second == 3
    assert not held.should_reconnect()
    await pipeline.aclose()
