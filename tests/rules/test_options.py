"""The option schema, pure: bounds, declared-type parsing, suggestions, glob escaping."""

from __future__ import annotations

import pytest

from tidings.exceptions import ConfigurationError
from tidings.layers.base import LayerOptions
from tidings.rules.options import COMMON, REDIS, parse_query, resolve


def test_the_typed_options_and_the_schema_name_the_same_options():
    assert set(LayerOptions.__annotations__) == {o.name for o in COMMON}


def test_defaults_come_from_the_schema():
    values = resolve(COMMON, {}, "X")
    assert values["expiry"] == 60 and values["capacity"] == 100 and values["history_groups"] == ()


@pytest.mark.parametrize("option", [o for o in REDIS if o.kind in ("seconds", "delay", "count")])
def test_every_numeric_option_is_bounded(option):
    assert option.high < float("inf")
    too_big = option.high * 10 if option.kind != "count" else int(option.high) + 1
    with pytest.raises(ConfigurationError, match=option.name):
        option.check(too_big)
    with pytest.raises(ConfigurationError, match=option.name):
        option.check(True)


def test_query_text_is_converted_by_declared_type():
    parsed = parse_query(
        REDIS,
        [("prefix", "2024"), ("expiry", "1e3"), ("capacity", "7"), ("history_groups", "a,b.*")],
        "X",
    )
    assert parsed == {
        "prefix": "2024",
        "expiry": 1000.0,
        "capacity": 7,
        "history_groups": ["a", "b.*"],
    }
    assert parse_query(COMMON, [("channel_capacity", "tiny.*:1,http:2")], "X") == {
        "channel_capacity": [("tiny.*", 1), ("http", 2)]
    }


def test_an_unknown_option_suggests_the_closest_and_lists_all():
    with pytest.raises(ConfigurationError) as info:
        resolve(REDIS, {"hearbeat_interval": 1}, "RedisChannelLayer")
    text = str(info.value)
    assert "did you mean 'heartbeat_interval'?" in text and "timeout" in text
