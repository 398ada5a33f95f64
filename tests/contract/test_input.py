"""Bad input gets a clear tidings error on every backend, and nothing accepted is lost."""

from __future__ import annotations

import asyncio

import pytest

from tidings import InvalidMessage, InvalidName

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("name", [["room"], {"a": 1}, {"room"}, bytearray(b"room"), 3.5])
async def test_names_that_are_not_str_raise_invalid_name(layer, name):
    channel = await layer.new_channel()
    for call in (
        lambda: layer.send(name, {"type": "t"}),
        lambda: layer.receive(name),
        lambda: layer.group_send(name, {"type": "t"}),
        lambda: layer.group_add(name, channel),
        lambda: layer.group_add("g", name),
        lambda: layer.group_discard(name, channel),
        lambda: layer.group_channels(name),
        lambda: layer.group_history(name),
    ):
        with pytest.raises(InvalidName, match="is invalid"):
            await call()


@pytest.mark.parametrize(
    "message",
    [{"text": "no type"}, {"type": ""}, {"type": "_x"}, {"type": 1}, {"type": None}],
)
async def test_undispatchable_messages_are_rejected_at_send(layer, message):
    """Channels' layers accept these and every consumer of the group then fails."""
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    with pytest.raises(InvalidMessage, match="type"):
        await layer.send(channel, message)
    with pytest.raises(InvalidMessage, match="type"):
        await layer.group_send("room", message)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.1)


async def test_deep_and_self_referencing_messages_raise_invalid_message(layer):
    deep: dict = {"type": "deep"}
    inner = deep
    for _ in range(10_000):
        inner["x"] = {}
        inner = inner["x"]
    looped: dict = {"type": "loop", "items": []}
    looped["items"].append(looped)
    channel = await layer.new_channel()
    for message, match in ((deep, "nested deeper than 32"), (looped, "refers to itself")):
        with pytest.raises(InvalidMessage, match=match):
            await layer.send(channel, message)
        with pytest.raises(InvalidMessage, match=match):
            await layer.group_send("room", message)


async def test_group_send_after_the_last_membership_expired(make_layer):
    """Defect: the sweep deleted the emptied group, then fan_out deleted it again."""
    layer = make_layer(group_expiry=1)
    channel = await layer.new_channel()
    await layer.group_add("gone", channel)
    await asyncio.sleep(1.6)
    report = await layer.group_send("gone", {"type": "t"})
    assert (report.members, report.delivered, report.dropped) == (0, 0, 0)
    await layer.group_add("gone", channel)  # the group works again afterwards
    assert (await layer.group_send("gone", {"type": "t"})).delivered == 1


@pytest.mark.redis
async def test_flush_never_touches_another_prefix(redis_server):
    """Defect: flush() on prefix 'app\\' matched prefix 'app''s keys by glob."""
    from tidings.layers.redis import RedisChannelLayer

    layers = {
        prefix: RedisChannelLayer(hosts=[redis_server.url], prefix=prefix)
        for prefix in ("app", "app.x", "ap", "app-")
    }
    try:
        for prefix, layer in layers.items():
            await layer.send("jobs", {"type": "t", "prefix": prefix})
        for prefix, layer in layers.items():
            await layer.flush()
            for later, later_layer in layers.items():
                if list(layers).index(later) > list(layers).index(prefix):
                    got = await asyncio.wait_for(later_layer.receive("jobs"), 2)
                    assert got["prefix"] == later
                    await later_layer.send("jobs", got)
    finally:
        for layer in layers.values():
            await layer.flush()
            await layer.close()


def _logged_drops(caplog) -> int:
    import re

    return sum(
        int(m.group(1))
        for r in caplog.records
        if (m := re.search(r"dropped (\d+) message", r.getMessage()))
    )


async def test_every_drop_reaches_the_log(make_layer, caplog):
    """Defect: 50 sends at capacity 1 logged 'dropped 1' and held the other 48 forever."""
    layer = make_layer(capacity=1, drop_warning_interval=0.3)
    channel = await layer.new_channel()
    await layer.group_add("busy", channel)
    for i in range(50):
        await layer.group_send("busy", {"type": "t", "i": i})
    assert layer.statistics().dropped == 49
    await asyncio.sleep(0.8)  # no further drops: what was held back is logged anyway
    assert _logged_drops(caplog) == 49
    assert sum("dropped" in r.getMessage() for r in caplog.records) <= 3  # still rate-limited


async def test_close_logs_drops_held_back(make_layer, caplog):
    layer = make_layer(capacity=1, drop_warning_interval=3600)
    channel = await layer.new_channel()
    await layer.group_add("busy", channel)
    for i in range(10):
        await layer.group_send("busy", {"type": "t", "i": i})
    await layer.close()
    assert _logged_drops(caplog) == 9


@pytest.mark.redis
async def test_escaped_scan_patterns_match_only_their_own_prefix(redis_server):
    """flush() scans with escape_glob(prefix + ':') + '*', checked on a real Redis."""
    import redis.asyncio as aioredis

    from tidings.rules.patterns import escape_glob

    prefixes = ["esc", "esc\\", "es*", "e?c", "e[s]c", "es^c"]
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        for prefix in prefixes:
            await client.set(f"{prefix}:k", 1)
        for prefix in prefixes:
            pattern = escape_glob(prefix + ":") + "*"
            found = [k.decode() async for k in client.scan_iter(match=pattern)]
            assert found == [f"{prefix}:k"], (prefix, found)
    finally:
        await client.delete(*(f"{p}:k" for p in prefixes))
        await client.aclose()


async def test_valid_channel_names_wants_a_list_and_says_so_with_invalid_name(layer):
    # Channels' helper raises TypeError; ours is InvalidName, still a TypeError.
    for bad in ([], "chan", ("chan",)):
        with pytest.raises(InvalidName, match="non-empty list"):
            layer.valid_channel_names(bad)
    assert layer.valid_channel_names(["a", "b"])
