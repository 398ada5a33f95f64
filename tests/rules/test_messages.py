import pytest

from tidings.exceptions import InvalidMessage
from tidings.rules.messages import MAX_DEPTH, check_message


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


def test_type_must_be_a_string():
    with pytest.raises(TypeError, match=r'message\["type"\] is an int'):
        check_message({"type": 3})


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ({"no": "type"}, "has no 'type'"),
        ({"type": None}, r'message\["type"\] is a NoneType'),
        ({"type": b"t"}, r'message\["type"\] is a bytes'),
        ({"type": ""}, "is empty"),
        ({"type": "_private"}, "starts with '_'"),
        ({"type": ".hidden"}, "starts with '_'"),
    ],
)
def test_messages_no_consumer_can_dispatch_are_rejected(message, match):
    """A deliberate difference from Channels: reject at send, not in every consumer."""
    with pytest.raises(InvalidMessage, match=match):
        check_message(message)


def _nested(depth):
    message = {"type": "deep"}
    inner = message
    for _ in range(depth - 1):
        inner["x"] = {}
        inner = inner["x"]
    return message


def test_nesting_up_to_the_bound_passes_and_deeper_is_rejected():
    assert check_message(_nested(MAX_DEPTH))
    listed = {"type": "t", "l": []}
    inner = listed["l"]
    for _ in range(MAX_DEPTH - 2):
        inner.append([])
        inner = inner[0]
    assert check_message(listed)
    inner.append([])
    with pytest.raises(InvalidMessage, match=f"nested deeper than {MAX_DEPTH}"):
        check_message(listed)
    for depth in (MAX_DEPTH + 1, 5000):
        with pytest.raises(InvalidMessage, match=f"nested deeper than {MAX_DEPTH}"):
            check_message(_nested(depth))


def test_self_referencing_messages_are_rejected():
    message = {"type": "loop", "items": [1]}
    message["items"].append(message)
    with pytest.raises(InvalidMessage, match="refers to itself"):
        check_message(message)
    again = {"type": "loop"}
    again["me"] = again
    with pytest.raises(InvalidMessage, match=r'message\["me"\] refers to itself'):
        check_message(again)


def test_a_shared_value_that_is_not_a_cycle_is_fine():
    shared = [1, 2]
    assert check_message({"type": "t", "a": shared, "b": {"c": shared}})
