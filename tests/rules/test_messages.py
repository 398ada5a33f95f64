import pytest

from tidings.exceptions import InvalidMessage
from tidings.rules.messages import check_message


def test_every_allowed_type_passes():
    message = {
        "type": "x.y",
        "s": "text",
        "b": b"\x00bytes",
        "i": -(2**63),
        "big": 2**63 - 1,
        "f": 1.5,
        "t": True,
        "n": None,
        "l": [1, "a", [2, {"k": (3, 4)}]],
        "tu": (1, 2),
        "d": {"nested": {"deep": [None]}},
    }
    assert check_message(message) is message


@pytest.mark.parametrize(
    ("message", "path", "kind"),
    [
        ({"data": [1, 2, {3}]}, 'message["data"][2]', "a set"),
        ({"a": {"b": object()}}, 'message["a"]["b"]', "an object"),
        ({"x": 2**64}, 'message["x"]', "outside the signed 64-bit range"),
        ({"x": [1, [2, frozenset()]]}, 'message["x"][1][1]', "a frozenset"),
        ({1: "int key"}, "message key 1", "an int, not a str"),
        ({"d": {("t",): 1}}, "message[\"d\"] key ('t',)", "a tuple, not a str"),
    ],
)
def test_bad_values_name_their_path(message, path, kind):
    with pytest.raises(TypeError) as info:
        check_message(message)
    text = str(info.value)
    assert text.startswith(f"{path} is {kind}") or (path in text and kind in text)
    assert "messages may hold" in text
    assert isinstance(info.value, InvalidMessage)


@pytest.mark.parametrize("message", ["text", ["list"], None, 3, {"a"}])
def test_non_dict_messages_are_rejected(message):
    with pytest.raises(TypeError, match="not a dict"):
        check_message(message)


def test_type_must_be_a_string_when_present():
    with pytest.raises(TypeError, match=r'message\["type"\] is an int'):
        check_message({"type": 3})
    assert check_message({"no": "type"}) == {"no": "type"}
