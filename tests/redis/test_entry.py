"""The list-entry wire format: built and parsed in one place, and what Lua builds parses."""

from __future__ import annotations

import random

import msgpack
import pytest
import redis.asyncio as aioredis

from tidings.layers.redis.entry import (
    CONTROL,
    DIRECT,
    GROUP,
    LUA_BUILD,
    QUEUED,
    Entry,
    MalformedEntry,
    build,
    deadline_of,
    header,
    parse,
    position_block,
)

PAYLOAD = msgpack.packb({"type": "chat.message", "text": "héllo 00015"}, use_bin_type=True)


@pytest.mark.parametrize(
    ("kind", "target", "position"),
    [
        (DIRECT, "specific.abcd1234abcd1234!x1", None),
        (GROUP, "room-1", None),
        (GROUP, "room-1", "0f3a9c2e5b7d1a4c:1234567"),
        (CONTROL, "add", None),
        (QUEUED, "", None),
        (QUEUED, "", "e:1"),
    ],
)
def test_an_entry_parses_back_to_what_built_it(kind, target, position):
    entry = build(1_732_390_000_123, kind, target, PAYLOAD, position)
    assert parse(entry) == Entry(1_732_390_000_123, position, kind, target, PAYLOAD)
    assert deadline_of(entry) == 1_732_390_000_123


def test_the_payload_is_carried_verbatim_after_a_header_sent_once():
    # What a group_send sends: the header and the payload, once each; the script only
    # prefixes deadline and position, so the payload is never re-encoded.
    entry = build(5, GROUP, "g", PAYLOAD, "e:7")
    assert entry == b"%015d" % 5 + position_block("e:7") + header(GROUP, "g") + PAYLOAD
    assert entry.endswith(PAYLOAD) and entry.count(PAYLOAD) == 1
    assert msgpack.unpackb(parse(entry).payload) == msgpack.unpackb(PAYLOAD)


def test_random_entries_round_trip():
    rng = random.Random(11)
    for _ in range(2000):
        kind = rng.choice([DIRECT, GROUP, CONTROL, QUEUED])
        target = "" if kind == QUEUED else "".join(rng.choices("ab.!-_09", k=rng.randint(0, 99)))
        position = rng.choice([None, f"{rng.getrandbits(64):016x}:{rng.randint(1, 10**15)}"])
        payload = rng.randbytes(rng.randint(0, 300))
        deadline = rng.randint(0, 10**15 - 1)
        assert parse(build(deadline, kind, target, payload, position)) == (
            deadline,
            position,
            kind,
            target,
            payload,
        )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"123",
        b"00000000000000x00d000",  # deadline not digits
        b"000000000000005-1d000",  # negative position length
        b"00000000000000500z000",  # unknown kind
        b"00000000000000500d0",  # target length cut short
        b"00000000000000500d009abc",  # target shorter than its length
        b"000000000000005" + msgpack.packb([1, "g", b"x"]),  # the format before this one
    ],
)
def test_bytes_that_are_not_an_entry_raise_malformed_entry(raw):
    with pytest.raises(MalformedEntry, match="not a tidings list entry"):
        parse(raw)


def test_a_deadline_that_is_not_digits_raises_malformed_entry():
    with pytest.raises(MalformedEntry, match="deadline"):
        deadline_of(b"garbage")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1, "x", "t", b""), "kind"),
        ((1, GROUP, "t" * 1000, b""), "target"),
        ((1, QUEUED, "chan", b""), "no target"),
        ((-1, GROUP, "t", b""), "deadline"),
        ((10**15, GROUP, "t", b""), "deadline"),
        ((1, GROUP, "t", b"", "p" * 100), "position"),
    ],
)
def test_what_cannot_be_an_entry_is_refused_when_built(args, match):
    with pytest.raises(ValueError, match=match):
        build(*args)


async def test_an_entry_built_by_lua_in_redis_parses(redis_server):
    script = (
        "local deadline, position, header, payload = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4] "
        f"return {LUA_BUILD}"
    )
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        for position in ("", "0f3a9c2e5b7d1a4c:42"):
            built = await client.eval(
                script, 0, 1_732_390_000_123, position, header(GROUP, "room-1"), PAYLOAD
            )
            assert built == build(1_732_390_000_123, GROUP, "room-1", PAYLOAD, position or None)
    finally:
        await client.aclose()
