"""Several OS processes and several event loops talking through one real Redis."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tidings.layers.redis import RedisChannelLayer

from .procs import Peer

pytestmark = pytest.mark.timeout(90)


async def test_group_send_reaches_members_in_two_other_processes(redis_server):
    prefix = "xproc1"
    peers = [Peer("members", redis_server.url, prefix, "xp", 20, 30) for _ in range(2)]
    try:
        channels = [c for p in peers for c in p.expect("READY")]
        layer = RedisChannelLayer(hosts=[redis_server.url], prefix=prefix)
        for i in range(30):
            report = await layer.group_send("xp", {"type": "t", "i": i})
            assert (report.members, report.delivered, report.dropped) == (40, 40, 0)
        results = {}
        for p in peers:
            results.update(await asyncio.to_thread(p.expect, "RESULT"))
        assert set(results) == set(channels)
        assert all(got == list(range(30)) for got in results.values())
        await layer.flush()
        await layer.close()
    finally:
        for p in peers:
            p.kill()


async def test_direct_sends_reach_channels_of_another_process(redis_server):
    prefix = "xproc2"
    peer = Peer("members", redis_server.url, prefix, "unused", 5, 10)
    try:
        channels = peer.expect("READY")
        layer = RedisChannelLayer(hosts=[redis_server.url], prefix=prefix)
        for i in range(10):
            for channel in channels:
                await layer.send(channel, {"type": "t", "i": i})
        results = await asyncio.to_thread(peer.expect, "RESULT")
        assert all(got == list(range(10)) for got in results.values())
        await layer.close()
    finally:
        peer.kill()


async def test_worker_queue_gives_each_message_to_exactly_one_process(redis_server):
    prefix = "xproc3"
    workers = [Peer("worker", redis_server.url, prefix, "jobs", 30) for _ in range(2)]
    try:
        for w in workers:
            w.expect("READY")
        layer = RedisChannelLayer(hosts=[redis_server.url], prefix=prefix, capacity=1000)
        for i in range(300):
            await layer.send("jobs", {"type": "job", "i": i})
        for _ in workers:
            await layer.send("jobs", {"type": "stop"})
        got = [await asyncio.to_thread(w.expect, "RESULT") for w in workers]
        union = sorted(got[0] + got[1])
        assert union == list(range(300)), "a job was lost or delivered twice"
        assert got[0] and got[1], "both processes should have taken work"
        await layer.flush()
        await layer.close()
    finally:
        for w in workers:
            w.kill()


def test_one_layer_used_from_several_event_loops_in_threads(redis_server):
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix="xloops")
    results: dict[int, list[int]] = {}

    async def member(n: int, ready: threading.Event) -> None:
        channel = await layer.new_channel()
        await layer.group_add("loops", channel)
        ready.set()
        results[n] = [(await asyncio.wait_for(layer.receive(channel), 10))["i"] for _ in range(20)]

    events = [threading.Event() for _ in range(3)]
    threads = [threading.Thread(target=asyncio.run, args=(member(n, events[n]),)) for n in range(3)]
    for t in threads:
        t.start()
    for e in events:
        assert e.wait(10)

    async def send() -> None:
        for i in range(20):
            await layer.group_send("loops", {"type": "t", "i": i})

    asyncio.run(send())
    for t in threads:
        t.join(20)
    assert results == {n: list(range(20)) for n in range(3)}


def test_receivers_keep_receiving_after_the_readers_loop_ends(redis_server):
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix="xcarry")
    got: list[int] = []
    first_loop_may_end = threading.Event()
    reader_started = threading.Event()
    waiting = threading.Event()
    channel_box: list[str] = []

    async def first_loop() -> None:  # like an async_to_sync call: its loop ends
        layer.readers[0].ensure_running()
        reader_started.set()
        await asyncio.to_thread(first_loop_may_end.wait, 10)

    async def receiver() -> None:
        channel_box.append(await layer.new_channel())
        waiting.set()
        for _ in range(2):
            got.append((await asyncio.wait_for(layer.receive(channel_box[0]), 15))["i"])

    a = threading.Thread(target=asyncio.run, args=(first_loop(),))
    a.start()
    assert reader_started.wait(10)
    b = threading.Thread(target=asyncio.run, args=(receiver(),))
    b.start()
    assert waiting.wait(10)
    reader_loop = layer.readers[0].task.get_loop()
    first_loop_may_end.set()
    a.join(10)
    assert reader_loop.is_closed()  # the reader's first home is gone
    other = RedisChannelLayer(hosts=[redis_server.url], prefix="xcarry")

    async def send() -> None:
        await asyncio.sleep(0.3)
        for i in range(2):
            await other.send(channel_box[0], {"type": "t", "i": i})

    asyncio.run(send())
    b.join(20)
    assert got == [0, 1]


def test_async_to_sync_calls_do_not_leave_connections_open(redis_server):
    import gc
    import os

    from asgiref.sync import async_to_sync

    layer = RedisChannelLayer(hosts=[redis_server.url], prefix="xleak")

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async_to_sync(layer.group_send)("g", {"type": "t"})
    gc.collect()
    before = open_fds()
    for _ in range(100):
        async_to_sync(layer.group_send)("g", {"type": "t"})
    gc.collect()
    assert open_fds() - before <= 5, "each async_to_sync call leaked a connection"
    assert len(layer.connections._loops) <= 2
