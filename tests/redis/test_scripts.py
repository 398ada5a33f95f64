"""Each Lua script on its own, against the real redis-server (see keys.py for the layout)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from tidings.layers.redis import entry
from tidings.layers.redis.connection import Script
from tidings.layers.redis.entry import DEADLINE_DIGITS, parse
from tidings.layers.redis.keys import Keys


@pytest.fixture
async def client(redis_server):
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.flushdb()
    await client.aclose()


async def test_send_channel_honours_capacity_and_reclaims_expired_room(client):
    script = Script("send_channel")
    key = "s:chan:q"
    assert await script(client, [key], [b"a", 60_000, 2]) == 1
    assert await script(client, [key], [b"b", 60_000, 2]) == 1
    assert await script(client, [key], [b"c", 60_000, 2]) == 0
    entries = [parse(e) for e in await client.lrange(key, 0, -1)]
    assert [(e.kind, e.target, e.payload) for e in entries] == [("q", "", b"a"), ("q", "", b"b")]
    assert 0 < await client.pttl(key) <= 60_000
    # An entry whose deadline has passed does not count against capacity.
    await client.delete(key)
    await client.rpush(key, b"1".zfill(DEADLINE_DIGITS) + b"expired")
    assert await script(client, [key], [b"new", 60_000, 1]) == 1
    assert [parse(e).payload for e in await client.lrange(key, 0, -1)] == [b"new"]


async def test_send_mailbox_refuses_a_full_mailbox(client):
    script = Script("send_mailbox")
    header = entry.header(entry.DIRECT, "a.x!1")
    for body in (b"1", b"2"):
        assert await script(client, ["s:mailbox:x"], [header, body, 60_000, 2]) == 1
    assert await script(client, ["s:mailbox:x"], [header, b"3", 60_000, 2]) == 0
    got = parse((await mailbox(client, "s:mailbox:x"))[0])
    assert (got.kind, got.target, got.payload, got.position) == ("d", "a.x!1", b"1", None)
    assert got.deadline_ms > 0


async def test_group_add_sets_or_keeps_meta_and_expiry(client):
    script = Script("group_add")
    keys = ["s:group:g", "s:gmeta:g", "s:members:g"]
    _, new = await script(client, keys, ["inst!", 5000, 3, "set", "", "", "a.inst!x"])
    assert new == 1
    _, new = await script(client, keys, ["inst!", 5000, 1, "keep", "", "", "a.inst!x"])
    assert new == 0  # a refresh
    assert await client.hget("s:gmeta:g", "inst!") == b"3"
    await script(client, keys, ["inst!", 5000, 4, "set", "", ""])
    assert await client.hget("s:gmeta:g", "inst!") == b"4"
    assert 0 < await client.pttl("s:group:g") <= 5000
    assert await client.zrange("s:members:g", 0, -1) == [b"a.inst!x"]


async def test_presence_lists_live_members_only(client):
    k = Keys("s")
    add, beat, presence = Script("group_add"), Script("heartbeat"), Script("presence")
    keys = [k.group("g"), k.group_meta("g"), k.group_members("g")]
    await script_beat(beat, client, k, "live")
    for channel in ("specific.live!a", "specific.live!b", "specific.dead!c", "worker.q"):
        await add(client, keys, ["m!", 60_000, 1, "set", "", "", channel])
    await client.zadd(k.group_members("g"), {"specific.live!old": 1})  # expired long ago
    found = await presence(client, [k.group_members("g"), k.alive(0)], [15_000])
    assert sorted(found) == [b"specific.live!a", b"specific.live!b", b"worker.q"]
    # presence.lua only reads (flags=no-writes); the next group_add trims the expired one
    assert await client.zscore(k.group_members("g"), "specific.live!old") == 1
    await add(client, keys, ["m!", 60_000, 1, "set", "", "", "specific.live!a"])
    assert await client.zscore(k.group_members("g"), "specific.live!old") is None


async def test_group_send_pushes_once_per_live_process_and_counts(client):
    k = Keys("s")
    add, beat, send = Script("group_add"), Script("heartbeat"), Script("group_send")
    group_keys = [k.group("g"), k.group_meta("g")]
    add_keys = [*group_keys, k.group_members("g")]
    await script_beat(beat, client, k, "live")
    await add(client, add_keys, ["live!", 60_000, 3, "set", "", ""])
    await add(client, add_keys, ["dead!", 60_000, 2, "set", "", ""])  # never beats
    await add(client, add_keys, ["self!", 60_000, 5, "set", "", ""])  # the caller: skipped
    await add(client, add_keys, ["worker.q", 60_000, 1, "set", "", ""])  # a normal channel, cap 1
    args = [entry.header(entry.GROUP, "g"), b"RAW", 60_000, 10, 15_000, "self!"]
    # "dead" beat a minute ago: gone (stale), yet not known dead
    await client.zadd(k.alive(0), {"dead": await redis_ms(client) - 60_000})
    total, delivered, full, stale, processes, position, epoch, channels = await send(
        client, [*group_keys, k.alive(0), k.epoch(0)], args
    )
    assert position == b""  # no history keys: no position
    assert epoch == b"e"
    # worker.q lives in a partition of its own: the caller sends to it (capacity 1)
    assert channels == [b"worker.q", b"1"]
    assert (total, delivered, full, stale, processes) == (5, 3, 0, 2, 1)
    # The payload is sent once: each entry is the header plus that payload, built in Lua.
    pushed = [parse(e) for e in await mailbox(client, k.mailbox(0, "live"))]
    assert [(e.kind, e.target, e.payload) for e in pushed] == [("g", "g", b"RAW")]
    assert await client.exists(k.mailbox(0, "dead")) == 0
    assert await client.exists(k.channel("worker.q")) == 0
    # Known dead (no beat for 10 x stale_after): removed from the group, no longer counted.
    args[4] = 5_000
    total, delivered, full, stale, *_ = await send(
        client, [*group_keys, k.alive(0), k.epoch(0)], args
    )
    assert (total, stale) == (3, 0)
    assert await client.zscore(k.group("g"), "dead!") is None


async def test_expired_members_get_nothing_and_group_add_trims_them(client):
    k = Keys("s")
    add, send = Script("group_add"), Script("group_send")
    keys = [k.group("g"), k.group_meta("g"), k.group_members("g")]
    await add(client, keys, ["worker.q", 50, 5, "set", "", ""])
    await client.persist(k.group("g"))
    await asyncio.sleep(0.1)
    args = [b"E", b"R", 60_000, 10, 15_000, "nobody!"]
    result = await send(client, [k.group("g"), k.group_meta("g"), k.alive(0), k.epoch(0)], args)
    assert result[0] == 0 and result[7] == []
    await add(client, keys, ["other.q", 60_000, 5, "set", "", ""])  # trims the expired one
    assert await client.zrange(k.group("g"), 0, -1) == [b"other.q"]


async def test_heartbeat_keeps_one_epoch_until_the_data_is_lost(client):
    k = Keys("s")
    beat = Script("heartbeat")
    keys = [k.alive(0), k.epoch(0), k.stats(0, "i"), k.mailbox(0, "i")]
    now1, epoch1, since1 = await beat(client, keys, ["i", 600_000, "first", 30_000])
    _, epoch2, since2 = await beat(client, keys, ["i", 600_000, "second", 30_000])
    assert epoch1 == epoch2 == b"first" and now1 > 1_600_000_000_000
    assert since1 == -1 and 0 <= since2 < 1000  # unknown at first, then ms since the last
    await client.flushdb()
    _, epoch3, _ = await beat(client, keys, ["i", 600_000, "third", 30_000])
    assert epoch3 == b"third"
    assert await client.zscore(k.alive(0), "i") is not None
    # the mailbox exists (empty) while its process beats, and outlives it for a while
    assert await client.xlen(k.mailbox(0, "i")) == 0 and await client.exists(k.mailbox(0, "i"))
    assert 0 < await client.pttl(k.mailbox(0, "i")) <= 30_000


async def script_beat(beat: Script, client, k: Keys, instance: str) -> None:
    keys = [k.alive(0), k.epoch(0), k.stats(0, instance), k.mailbox(0, instance)]
    await beat(client, keys, [instance, 600_000, "e", 600_000])


async def mailbox(client, key: str) -> list[bytes]:
    """The entries in a mailbox stream, oldest first."""
    return [fields[b"e"] for _, fields in await client.xrange(key)]


async def test_group_send_with_history_stores_and_stamps_atomically(client):
    k = Keys("s")
    add, beat, send, history = (
        Script(n) for n in ("group_add", "heartbeat", "group_send", "history")
    )
    await script_beat(beat, client, k, "live")
    await add(
        client,
        [k.group("h"), k.group_meta("h"), k.group_members("h")],
        ["live!", 60_000, 1, "set", "", ""],
    )
    keys = [k.group("h"), k.group_meta("h"), k.alive(0), k.epoch(0), *k.history("h")]
    positions = []
    for n in range(4):
        args = [
            entry.header(entry.GROUP, "h"),
            b"RAW%d" % n,
            60_000,
            10,
            15_000,
            "self!",
            3,
            60_000,
            "epochA",
        ]
        positions.append((await send(client, keys, args))[5])
    assert positions == [b"epochA:1", b"epochA:2", b"epochA:3", b"epochA:4"]
    first_entry = parse((await mailbox(client, k.mailbox(0, "live")))[0])
    assert (first_entry.position, first_entry.payload) == ("epochA:1", b"RAW0")
    epoch, first, last, entries = await history(client, k.history("h"), [2])
    assert (epoch, first, last) == (b"epochA", 2, 4)  # size 3: offset 1 was trimmed
    assert [e[30:] for e in entries] == [b"RAW2", b"RAW3"]


async def redis_ms(client) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def test_group_add_applies_a_process_count_only_if_newer(client):
    """Racing writers of one process: the older write (lower seq) never overwrites a
    newer count, and a count of 0 removes the process (keeping its seq)."""
    script = Script("group_add")
    keys = ["s:group:g", "s:gmeta:g", "s:members:g"]
    await script(client, keys, ["inst!", 60_000, 2, "set", 5, ""])
    await script(client, keys, ["inst!", 60_000, 1, "set", 4, ""])  # stale: skipped
    assert await client.hget("s:gmeta:g", "inst!") == b"2"
    await script(client, keys, ["inst!", 60_000, 0, "set", 6, "a.inst!x"])
    assert await client.zscore("s:group:g", "inst!") is None
    assert await client.hget("s:gmeta:g", "inst!") is None
    await script(client, keys, ["inst!", 60_000, 3, "set", 5, ""])  # older than the removal
    assert await client.zscore("s:group:g", "inst!") is None
    await script(client, keys, ["inst!", 60_000, 1, "set", 7, "", "a.inst!y", "a.inst!z"])
    assert await client.hget("s:gmeta:g", "inst!") == b"1"
    assert sorted(await client.zrange("s:members:g", 0, -1)) == [b"a.inst!y", b"a.inst!z"]


async def test_group_send_writes_nothing_while_a_live_members_mailbox_is_missing(client):
    """A live process always has its mailbox (heartbeat.lua): a missing one means its slot
    is moving between masters. The send then writes nothing (no push, no history offset)
    and asks to be retried, so retrying it can never deliver anything twice."""
    k = Keys("s")
    add, beat, send = Script("group_add"), Script("heartbeat"), Script("group_send")
    add_keys = [k.group("h"), k.group_meta("h"), k.group_members("h")]
    for instance in ("a", "b"):
        await script_beat(beat, client, k, instance)
        await add(client, add_keys, [f"{instance}!", 60_000, 1, "set", "", ""])
    await client.delete(k.mailbox(0, "b"))
    keys = [k.group("h"), k.group_meta("h"), k.alive(0), k.epoch(0), *k.history("h")]
    args = [b"gh", b"RAW", 60_000, 10, 15_000, "self!", 3, 60_000, "E"]
    assert await send(client, keys, args) == [b"retry", b"b"]
    assert await client.xlen(k.mailbox(0, "a")) == 0
    assert await client.exists(*k.history("h")) == 0
    await script_beat(beat, client, k, "b")  # the mailbox is back (the slot moved)
    assert (await send(client, keys, args))[:2] == [2, 2]
    assert [len(await mailbox(client, k.mailbox(0, i))) for i in "ab"] == [1, 1]
