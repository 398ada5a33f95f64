"""The channel layer contract (docs/contract.md), run against every backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import threading

import pytest
from asgiref.sync import async_to_sync

from tidings import ChannelFull, GroupSendReport, InvalidMessage, MessageTooLarge

pytestmark = pytest.mark.timeout(60)


async def receive_soon(layer, channel, timeout=2.0):
    return await asyncio.wait_for(layer.receive(channel), timeout)


async def assert_nothing(layer, channel, wait=0.2):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), wait)


# -- send and receive ------------------------------------------------------------


async def test_send_then_receive_in_order(layer):
    channel = await layer.new_channel()
    for i in range(5):
        await layer.send(channel, {"type": "t", "i": i})
    assert [(await receive_soon(layer, channel))["i"] for _ in range(5)] == list(range(5))


async def test_normal_channel_round_trip(layer):
    await layer.send("worker.jobs", {"type": "job", "id": 1})
    assert await receive_soon(layer, "worker.jobs") == {"type": "job", "id": 1}


async def test_receive_waits_for_a_later_send(layer):
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await layer.send(channel, {"type": "late"})
    assert (await asyncio.wait_for(waiting, 2))["type"] == "late"


async def test_values_keep_their_types_and_tuples_become_lists(layer):
    message = {
        "type": "t",
        "b": b"\x00\xff",
        "s": "é",
        "i": -(2**63),
        "f": 0.25,
        "t": True,
        "n": None,
        "tu": (1, (2, 3)),
        "d": {"x": [b"y"]},
    }
    channel = await layer.new_channel()
    await layer.send(channel, message)
    got = await receive_soon(layer, channel)
    assert got == {**message, "tu": [1, [2, 3]]}
    assert type(got["b"]) is bytes and type(got["tu"]) is list


async def test_a_one_megabyte_message_is_carried(layer):
    big = {"type": "big", "data": "x" * (1024 * 1024), "list": list(range(10_000))}
    assert len(json.dumps(big)) > 1024 * 1024
    channel = await layer.new_channel()
    await layer.send(channel, big)
    assert await receive_soon(layer, channel, 5) == big


async def test_oversized_message_raises_and_queues_nothing(make_layer):
    layer = make_layer(max_message_size=2 * 1024 * 1024)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "first"})
    with pytest.raises(MessageTooLarge, match="max_message_size"):
        await layer.send(channel, {"type": "huge", "data": b"x" * (3 * 1024 * 1024)})
    with pytest.raises(ValueError):
        await layer.group_send("g", {"type": "huge", "data": "y" * (3 * 1024 * 1024)})
    assert (await receive_soon(layer, channel))["type"] == "first"
    await assert_nothing(layer, channel)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ("not a dict", "is a str, not a dict"),
        ({"data": [1, 2, {3}]}, r'message\["data"\]\[2\] is a set'),
        ({1: "x"}, "message key 1 is an int"),
    ],
)
async def test_invalid_messages_raise_type_error_and_lose_nothing(layer, message, match):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "kept"})
    with pytest.raises(TypeError, match=match):
        await layer.send(channel, message)
    with pytest.raises(InvalidMessage, match=match):
        await layer.group_send("g", message)
    assert (await receive_soon(layer, channel))["type"] == "kept"


@pytest.mark.parametrize("name", ["", "x" * 100, "bad name", "a!b!c", None, "ü", b"bytes"])
async def test_invalid_channel_names_raise_type_error(layer, name):
    with pytest.raises(TypeError, match="ASCII letters"):
        await layer.send(name, {"type": "t"})
    with pytest.raises(TypeError):
        await layer.receive(name)
    with pytest.raises(TypeError):
        await layer.group_add("g", name)


async def test_names_of_99_characters_work(layer):
    group = "g" * 99
    channel = "c" * 99
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "t"})
    assert (await receive_soon(layer, channel))["type"] == "t"


@pytest.mark.parametrize("name", ["", "g" * 100, "a!b", "sp ace"])
async def test_invalid_group_names_raise_type_error(layer, name):
    channel = await layer.new_channel()
    with pytest.raises(TypeError):
        await layer.group_add(name, channel)
    with pytest.raises(TypeError):
        await layer.group_send(name, {"type": "t"})
    with pytest.raises(TypeError):
        await layer.group_discard(name, channel)


async def test_receivers_get_their_own_copy(layer):
    a, b = await layer.new_channel(), await layer.new_channel()
    for channel in (a, b):
        await layer.group_add("copies", channel)
    for message in ({"type": "flat", "x": 1}, {"type": "nested", "x": [1, 2]}):
        await layer.group_send("copies", message)
        first = await receive_soon(layer, a)
        first["x"] = "mutated"
        first["extra"] = True
        assert await receive_soon(layer, b) == message


async def test_sender_mutation_after_send_changes_nothing(layer):
    channel = await layer.new_channel()
    message = {"type": "t", "x": 1, "l": [1]}
    await layer.send(channel, message)
    message["x"] = 2
    message["l"].append(2)
    assert await receive_soon(layer, channel) == {"type": "t", "x": 1, "l": [1]}


# -- new_channel -------------------------------------------------------------------


async def test_new_channel_names_are_unique_and_process_specific(layer):
    seen = set()
    for _ in range(200):
        random.seed(0)
        name = await layer.new_channel()
        assert "!" in name and name.startswith("specific.") and len(name) < 100
        seen.add(name)
    assert len(seen) == 200
    assert (await layer.new_channel("http.response")).startswith("http.response.")


async def test_new_channel_rejects_bad_prefix(layer):
    with pytest.raises(TypeError):
        await layer.new_channel("bad!prefix")


# -- capacity ----------------------------------------------------------------------


async def test_send_raises_channel_full_at_capacity(make_layer):
    layer = make_layer(capacity=3)
    channel = await layer.new_channel()
    for i in range(3):
        await layer.send(channel, {"type": "t", "i": i})
    with pytest.raises(ChannelFull, match="capacity of 3"):
        await layer.send(channel, {"type": "t", "i": 3})
    assert [(await receive_soon(layer, channel))["i"] for _ in range(3)] == [0, 1, 2]
    await layer.send(channel, {"type": "t", "i": 4})  # room again


async def test_channel_full_is_caught_as_channels_channel_full(make_layer):
    channels_exceptions = pytest.importorskip("channels.exceptions")
    layer = make_layer(capacity=1)
    await layer.send("one", {"type": "t"})
    with pytest.raises(channels_exceptions.ChannelFull):
        await layer.send("one", {"type": "t"})


async def test_capacity_patterns_first_match_wins(make_layer):
    layer = make_layer(
        capacity=5,
        channel_capacity={"tiny.*": 1, re.compile(r"^tin"): 2, "wide": 10},
    )
    await layer.send("tiny.a", {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send("tiny.a", {"type": "t"})
    for _ in range(2):
        await layer.send("tinder", {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send("tinder", {"type": "t"})
    for _ in range(10):
        await layer.send("wide", {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send("wide", {"type": "t"})
    for _ in range(5):
        await layer.send("other", {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send("other", {"type": "t"})


async def test_capacity_patterns_apply_to_process_specific_channels(make_layer):
    layer = make_layer(capacity=50, channel_capacity={"slow.*": 2})
    channel = await layer.new_channel("slow")
    await layer.send(channel, {"type": "t"})
    await layer.send(channel, {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "t"})


async def test_one_full_channel_does_not_cost_its_neighbours(make_layer):
    layer = make_layer(capacity=2)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    for channel in (slow, fast):
        await layer.group_add("room", channel)
    for i in range(5):
        await layer.group_send("room", {"type": "t", "i": i})
        assert (await receive_soon(layer, fast))["i"] == i
    assert [(await receive_soon(layer, slow))["i"] for _ in range(2)] == [0, 1]


async def test_group_send_never_raises_and_reports_drops(make_layer, caplog):
    layer = make_layer(capacity=1)
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", a)
    await layer.group_add("g", b)
    first = await layer.group_send("g", {"type": "t", "n": 1})
    assert first == GroupSendReport("g", members=2, delivered=2, dropped=0) and first.ok
    await receive_soon(layer, b)
    with caplog.at_level("WARNING", logger="tidings"):
        second = await layer.group_send("g", {"type": "t", "n": 2})
        third = await layer.group_send("g", {"type": "t", "n": 3})
    assert (second.members, second.delivered, second.dropped) == (2, 1, 1)
    assert not second.ok and third.dropped == 2
    warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1 and "'g'" in warnings[0].getMessage()
    assert layer.drops.total >= 3
    assert (await receive_soon(layer, b))["n"] == 2


async def test_group_send_to_unknown_group_reports_no_members(layer):
    report = await layer.group_send("nobody-here", {"type": "t"})
    assert (report.members, report.delivered, report.dropped) == (0, 0, 0)


# -- groups ------------------------------------------------------------------------


async def test_group_send_reaches_every_member_once(layer):
    channels = [await layer.new_channel() for _ in range(5)]
    for channel in channels:
        await layer.group_add("room", channel)
        await layer.group_add("room", channel)  # idempotent
    report = await layer.group_send("room", {"type": "hello"})
    assert report.delivered == 5
    for channel in channels:
        assert (await receive_soon(layer, channel))["type"] == "hello"
        await assert_nothing(layer, channel, 0.05)


async def test_group_discard_removes_and_tolerates_absent(layer):
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_discard("room", a)
    await layer.group_discard("room", a)
    await layer.group_discard("never", a)
    await layer.group_send("room", {"type": "t"})
    assert (await receive_soon(layer, b))["type"] == "t"
    await assert_nothing(layer, a)


async def test_normal_channels_can_be_group_members(layer):
    await layer.group_add("jobs", "worker.queue")
    await layer.group_send("jobs", {"type": "job"})
    assert (await receive_soon(layer, "worker.queue"))["type"] == "job"


async def test_group_membership_expires(make_layer):
    layer = make_layer(group_expiry=0.4)
    channel = await layer.new_channel()
    await layer.group_add("short", channel)
    await layer.group_send("short", {"type": "in-time"})
    assert (await receive_soon(layer, channel))["type"] == "in-time"
    await asyncio.sleep(0.7)
    report = await layer.group_send("short", {"type": "too-late"})
    assert report.delivered == 0
    await assert_nothing(layer, channel)


async def test_group_add_restarts_the_expiry_clock(make_layer):
    layer = make_layer(group_expiry=0.6)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await asyncio.sleep(0.4)
    await layer.group_add("g", channel)
    await asyncio.sleep(0.4)
    assert (await layer.group_send("g", {"type": "t"})).delivered == 1


# -- expiry ------------------------------------------------------------------------


async def test_unread_messages_expire(make_layer):
    layer = make_layer(expiry=0.3)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "old"})
    await asyncio.sleep(0.6)
    await layer.send(channel, {"type": "new"})
    assert (await receive_soon(layer, channel))["type"] == "new"
    await assert_nothing(layer, channel)


async def test_expired_messages_free_capacity(make_layer):
    layer = make_layer(expiry=0.3, capacity=1)
    await layer.send("c", {"type": "old"})
    await asyncio.sleep(0.6)
    await layer.send("c", {"type": "new"})
    assert (await receive_soon(layer, "c"))["type"] == "new"


# -- several readers, cancellation, fairness ---------------------------------------


async def test_each_message_goes_to_exactly_one_of_several_readers(layer):
    got: list[int] = []

    async def reader() -> None:
        while True:
            got.append((await layer.receive("work"))["i"])

    readers = [asyncio.create_task(reader()) for _ in range(4)]
    for i in range(100):
        await layer.send("work", {"type": "t", "i": i})
    for _ in range(200):
        if len(got) >= 100:
            break
        await asyncio.sleep(0.02)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    assert sorted(got) == list(range(100))


async def test_cancelled_receive_keeps_the_message(layer):
    channel = await layer.new_channel()
    for _ in range(20):
        task = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await layer.send(channel, {"type": "kept"})
    assert (await receive_soon(layer, channel))["type"] == "kept"
    await assert_nothing(layer, channel)


async def test_receive_cancelled_right_after_wakeup_loses_nothing(layer):
    channel = await layer.new_channel()
    delivered = 0
    for i in range(30):
        task = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0.01 if i % 2 else 0)
        await layer.send(channel, {"type": "t", "i": i})
        task.cancel()  # the message may be woken for, but not yet taken
        results = await asyncio.gather(task, return_exceptions=True)
        if isinstance(results[0], dict):
            assert results[0]["i"] == i
            delivered += 1
        else:
            assert (await receive_soon(layer, channel))["i"] == i
    await assert_nothing(layer, channel)


async def test_a_busy_channel_does_not_starve_a_quiet_one(layer):
    busy, quiet = await layer.new_channel(), await layer.new_channel()
    stop = asyncio.Event()

    async def flood() -> None:
        i = 0
        while not stop.is_set():
            with contextlib.suppress(ChannelFull):
                await layer.send(busy, {"type": "t", "i": i})
            i += 1
            if i % 20 == 0:
                await asyncio.sleep(0)

    async def drain() -> None:
        while not stop.is_set():
            await layer.receive(busy)

    tasks = [asyncio.create_task(flood()), asyncio.create_task(drain())]
    await asyncio.sleep(0.05)
    await layer.send(quiet, {"type": "quiet"})
    try:
        assert (await receive_soon(layer, quiet, 2))["type"] == "quiet"
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# -- flush, close, attributes ------------------------------------------------------


async def test_flush_removes_messages_and_groups(layer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "t"})
    await layer.group_add("g", channel)
    await layer.flush()
    await assert_nothing(layer, channel)
    assert (await layer.group_send("g", {"type": "t"})).members == 0


async def test_layer_works_again_after_close(layer):
    channel = await layer.new_channel()
    await layer.close()
    await layer.send(channel, {"type": "after-close"})
    assert (await receive_soon(layer, channel))["type"] == "after-close"
    await layer.close_pools()
    await layer.group_add("g", channel)
    assert (await layer.group_send("g", {"type": "t"})).delivered == 1


async def test_contract_attributes(make_layer):
    layer = make_layer(expiry=30, group_expiry=600, capacity=7, channel_capacity={"a": 1})
    assert layer.extensions == ["groups", "flush"]
    assert (layer.expiry, layer.group_expiry, layer.capacity) == (30, 600, 7)
    assert layer.get_capacity("a") == 1 and layer.get_capacity("b") == 7
    assert layer.channel_capacity


@pytest.mark.parametrize(
    "config",
    [
        {"expiry": 0},
        {"group_expiry": -1},
        {"capacity": 0},
        {"capacity": "100"},
        {"channel_capacity": {"x": 0}},
        {"max_message_size": 1000},
    ],
)
def test_bad_config_raises_value_error(make_layer, config):
    with pytest.raises(ValueError):
        make_layer(**config)


# -- many loops and threads --------------------------------------------------------


def test_many_sequential_async_to_sync_calls(make_layer):
    layer = make_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("sync-group", channel)
    for i in range(60):
        report = async_to_sync(layer.group_send)("sync-group", {"type": "t", "i": i})
        assert report.delivered == 1
        assert async_to_sync(layer.receive)(channel)["i"] == i


def test_several_threads_at_once(make_layer):
    layer = make_layer(capacity=1000)
    channel = async_to_sync(layer.new_channel)()
    errors: list[BaseException] = []

    def sender(n: int) -> None:
        try:
            for i in range(50):
                async_to_sync(layer.send)(channel, {"type": "t", "from": n, "i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    got = [async_to_sync(layer.receive)(channel) for _ in range(200)]
    for thread in threads:
        thread.join()
    assert not errors
    for n in range(4):
        assert [m["i"] for m in got if m["from"] == n] == list(range(50))


async def test_receive_in_one_loop_wakes_on_send_from_another_thread(layer):
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.05)
    thread = threading.Thread(
        target=async_to_sync(layer.send), args=(channel, {"type": "cross-thread"})
    )
    thread.start()
    assert (await asyncio.wait_for(waiting, 5))["type"] == "cross-thread"
    await asyncio.to_thread(thread.join)


async def test_sync_facade_round_trip(layer):
    channel = await layer.new_channel()

    def work() -> object:
        layer.sync.group_add("facade", channel)
        return layer.sync.group_send("facade", {"type": "via.sync"})

    report = await asyncio.to_thread(work)
    assert report.delivered == 1
    assert (await receive_soon(layer, channel))["type"] == "via.sync"


async def test_cancelled_receive_on_a_normal_channel_keeps_the_message(layer):
    # On Redis a receive blocks in BLPOP; a message it pops after being cancelled must go
    # back to the head of the channel, not vanish.
    for i in range(5):
        task = asyncio.create_task(layer.receive("jobs.cancel"))
        await asyncio.sleep(0.05)
        task.cancel()
        await layer.send("jobs.cancel", {"type": "t", "i": i})
        await asyncio.gather(task, return_exceptions=True)
        got = await receive_soon(layer, "jobs.cancel", 5)
        assert got["i"] == i
    await assert_nothing(layer, "jobs.cancel")
