"""Fuzzed names, messages, options and URLs: only the documented exceptions come out, and
whatever is accepted is delivered intact."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings import MemoryChannelLayer
from tidings.config import layer_from_url
from tidings.exceptions import ConfigurationError, InvalidMessage, InvalidName, MessageTooLarge
from tidings.rules.options import COMMON, REDIS

pytestmark = pytest.mark.timeout(300)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def as_received(value: Any) -> Any:
    """What a receiver gets for ``value``: tuples travel as lists."""
    if isinstance(value, dict):
        return {k: as_received(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_received(v) for v in value]
    return value


names = (
    st.text(max_size=120)
    | st.from_regex(r"[A-Za-z0-9._-]{1,99}(![A-Za-z0-9._-]{0,20})?", fullmatch=True)
    | st.binary(max_size=10)
    | st.integers()
    | st.none()
    | st.lists(st.text(max_size=5), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@FUZZ
@given(name=names)
def test_any_name_is_accepted_and_delivered_or_rejected_with_invalid_name(name):
    async def go() -> None:
        layer = MemoryChannelLayer()
        try:
            await layer.send(name, {"type": "t"})
        except InvalidName as exc:
            assert "invalid" in str(exc)
            return
        assert await asyncio.wait_for(layer.receive(name), 1) == {"type": "t"}
        await layer.group_add("g", name)
        report = await layer.group_send("g", {"type": "u"})
        assert report.delivered == 1
        assert await asyncio.wait_for(layer.receive(name), 1) == {"type": "u"}

    run(go())


class Odd:
    pass


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.binary(max_size=10)
    | st.just(Odd())
    | st.sets(st.integers(), max_size=2)
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.text(max_size=4) | st.integers()
    return (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=3)
    )


values = st.recursive(scalars, _containers, max_leaves=12)
types = st.sampled_from(["chat.message", "x", "", "_private", ".dot", "a._b"]) | values
messages = (
    st.builds(
        lambda t, body, with_type: ({"type": t} if with_type else {}) | body,
        types,
        st.dictionaries(st.text(max_size=4), values, max_size=4),
        st.booleans(),
    )
    | values
)


@FUZZ
@given(message=messages)
def test_any_message_is_delivered_intact_or_rejected_with_a_documented_error(message):
    async def go() -> None:
        layer = MemoryChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        try:
            await layer.send(channel, message)
        except (InvalidMessage, MessageTooLarge) as exc:
            assert str(exc)
            with pytest.raises(type(exc)):
                await layer.group_send("room", message)
            return
        expected = as_received(message)
        assert await asyncio.wait_for(layer.receive(channel), 1) == expected
        await layer.group_send("room", message)
        assert await asyncio.wait_for(layer.receive(channel), 1) == expected

    run(go())


option_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats()
    | st.text(max_size=8)
    | st.lists(st.text(max_size=6) | st.just(re.compile(b"x")), max_size=3)
    | st.dictionaries(st.text(max_size=6), st.integers(-2, 10**9) | st.text(max_size=2), max_size=2)
    | st.just(re.compile("room.*"))
)
option_names = st.sampled_from([o.name for o in COMMON] + ["capcity", "presence", "bogus"])


@FUZZ
@given(options=st.dictionaries(option_names, option_values, max_size=4))
def test_any_options_build_a_working_layer_or_raise_configuration_error(options):
    try:
        layer = MemoryChannelLayer(**options)
    except ConfigurationError as exc:
        assert str(exc)
        return

    async def go() -> None:
        await layer.send("c", {"type": "t"})
        assert await asyncio.wait_for(layer.receive("c"), 1) == {"type": "t"}

    run(go())


redis_option_names = st.sampled_from([o.name for o in REDIS if o.name != "hosts"] + ["prefx"])


@FUZZ
@given(
    scheme=st.sampled_from(["memory", "redis", "rediss", "unix", "kafka", "valkey"]),
    host=st.sampled_from(["127.0.0.1", "", "h:1", "h:99999", "h:x", ":pw@h", "[::1]:1"]),
    query=st.lists(st.tuples(redis_option_names | option_names, st.text(max_size=8)), max_size=3),
)
def test_any_url_builds_a_layer_or_raises_configuration_error(scheme, host, query):
    text = "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    url = f"{scheme}://{host}/0?{text}" if scheme != "memory" else f"memory://?{text}"
    try:
        layer = layer_from_url(url)
    except ConfigurationError as exc:
        assert str(exc)
        return
    prefixes = [value for name, value in query if name == "prefix"]
    if prefixes:
        assert layer.prefix == prefixes[-1]  # by its declared type: never a number
