import uuid

import pytest

from tidings.exceptions import ConfigurationError
from tidings.routing.paths import compile_path


def test_converters_convert():
    pattern = compile_path("/room/<int:n>/<slug:s>/<uuid:u>/<path:rest>")
    u = uuid.uuid4()
    kwargs, rest = pattern.match(f"room/3/a-b_c/{u}/x/y.txt")
    assert kwargs == {"n": 3, "s": "a-b_c", "u": u, "rest": "x/y.txt"} and rest == ""


def test_str_stops_at_slash_and_literals_are_escaped():
    pattern = compile_path("chat/<room>/v1.0/")
    assert pattern.match("chat/lobby/v1.0/")[0] == {"room": "lobby"}
    assert pattern.match("chat/lob/by/v1.0/") is None
    assert pattern.match("chat/lobby/v1x0/") is None


def test_prefix_match_returns_the_rest():
    assert compile_path("api/").match("api/items/1/", prefix=True) == ({}, "items/1/")


def test_unknown_converter_is_named():
    with pytest.raises(ConfigurationError, match="converter 'float'"):
        compile_path("x/<float:f>/")
