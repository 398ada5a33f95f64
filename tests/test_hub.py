"""Hub details the contract suite cannot see from outside."""

import asyncio
import threading

from tidings import MemoryChannelLayer
from tidings.hub import Hub
from tidings.report import DropLog
from tidings.rules.capacity import CapacityRules


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_hub(**kw):
    clock = FakeClock()
    hub = Hub(
        CapacityRules(kw.get("capacity", 100)),
        kw.get("expiry", 60),
        kw.get("group_expiry", 86400),
        DropLog(),
        clock,
    )
    return hub, clock


def test_sweep_forgets_idle_inboxes_and_stale_groups_once_per_interval():
    hub, clock = make_hub(expiry=10, group_expiry=20)
    for i in range(100):
        hub.put(f"c{i}", b"x")
        hub.group_add("g", f"c{i}")
    assert len(hub.inboxes) == 100
    clock.now += 11
    hub.put("fresh", b"y")  # triggers the sweep: the 100 messages expired
    assert set(hub.inboxes) == {"fresh"}
    assert hub.statistics().expired == 100
    clock.now += 10
    hub.put("fresh2", b"y")
    assert "g" not in hub.groups


def test_statistics_count_every_message_once():
    hub, clock = make_hub(capacity=2, expiry=5)
    for c in ("a", "b"):
        hub.group_add("g", c)
    hub.fan_out("g", b"1")
    hub.fan_out("g", b"2")
    hub.fan_out("g", b"3")  # both full: 2 drops
    assert hub.get_nowait("a") == b"1"
    clock.now += 6
    assert hub.get_nowait("a") is None  # b"2" expired
    stats = hub.statistics()
    assert (stats.sent, stats.dropped, stats.expired, stats.received) == (4, 2, 1, 1)
    assert stats.queued == 2 and stats.deepest == {"b": 2}


def test_waiter_on_a_closed_loop_does_not_swallow_the_wakeup():
    layer = MemoryChannelLayer()
    hub = layer.hub
    dead = asyncio.new_event_loop()
    stale = dead.create_future()
    hub.inboxes.setdefault("c", hub.inboxes.get("c") or __import__("tidings.hub").hub.Inbox(10))
    hub.inboxes["c"].waiters.append(stale)
    dead.close()

    async def main() -> dict:
        task = asyncio.create_task(layer.receive("c"))
        await asyncio.sleep(0.01)
        await asyncio.to_thread(lambda: layer.sync.send("c", {"type": "t"}))
        return await asyncio.wait_for(task, 2)

    assert asyncio.run(main())["type"] == "t"
    layer.sync.stop()


def test_group_send_from_another_thread_wakes_every_member():
    layer = MemoryChannelLayer()

    async def main() -> int:
        channels = [await layer.new_channel() for _ in range(50)]
        for c in channels:
            await layer.group_add("g", c)
        tasks = [asyncio.create_task(layer.receive(c)) for c in channels]
        await asyncio.sleep(0.01)
        thread = threading.Thread(target=layer.sync.group_send, args=("g", {"type": "t"}))
        thread.start()
        done = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        await asyncio.to_thread(thread.join)
        return len(done)

    assert asyncio.run(main()) == 50
    layer.sync.stop()
