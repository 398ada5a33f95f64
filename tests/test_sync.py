import asyncio
import threading

import pytest

from tidings import MemoryChannelLayer


def test_sync_calls_reuse_one_background_loop():
    layer = MemoryChannelLayer()
    channel = layer.sync.new_channel()
    layer.sync.group_add("g", channel)
    loops = set()
    for i in range(50):
        assert layer.sync.group_send("g", {"type": "t", "i": i}).delivered == 1
        loops.add(id(layer.sync._loop))
    assert len(loops) == 1
    assert [layer.sync.receive(channel)["i"] for _ in range(50)] == list(range(50))
    asyncio.run(layer.close())


def test_sync_is_thread_safe():
    layer = MemoryChannelLayer(capacity=1000)
    channel = layer.sync.new_channel()

    def send(n: int) -> None:
        for i in range(100):
            layer.sync.send(channel, {"type": "t", "n": n, "i": i})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [layer.sync.receive(channel, timeout=2) for _ in range(400)]
    for n in range(4):
        assert [m["i"] for m in got if m["n"] == n] == list(range(100))
    layer.sync.stop()


def test_sync_receive_times_out():
    layer = MemoryChannelLayer()
    with pytest.raises(TimeoutError):
        layer.sync.receive("nothing.here", timeout=0.1)
    layer.sync.stop()


async def test_sync_inside_an_event_loop_says_to_await():
    layer = MemoryChannelLayer()
    with pytest.raises(RuntimeError, match="use 'await layer"):
        layer.sync.send("c", {"type": "t"})


def test_close_stops_the_background_loop_and_it_restarts():
    layer = MemoryChannelLayer()
    layer.sync.send("c", {"type": "t"})
    thread = layer.sync._thread
    asyncio.run(layer.close())
    assert thread is not None and not thread.is_alive()
    layer.sync.send("c", {"type": "t2"})
    assert [layer.sync.receive("c")["type"] for _ in range(2)] == ["t", "t2"]
    layer.sync.stop()
