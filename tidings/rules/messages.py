"""What a message may hold, and the error that says where it went wrong.

A message is a ``dict`` with ``str`` keys whose values are ``bytes``, ``str``,
``int`` (signed 64-bit), ``float``, ``bool``, ``None``, lists or tuples, and
nested dicts of the same. Anything else is rejected with ``InvalidMessage``
(a ``TypeError``) naming the path, e.g. ``message["data"][2] is a set``.

Also rejected, so that the sender hears about it instead of every consumer: a message
whose ``type`` is missing, not a ``str``, empty or starting with ``_`` or ``.`` (no
consumer can dispatch it), and one nested deeper than ``MAX_DEPTH`` dicts and lists
(the message itself is level 1) or containing itself.
"""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import InvalidMessage

ALLOWED = "dicts with str keys, lists, tuples, str, bytes, int (64-bit), float, bool and None"
MAX_DEPTH = 32
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_SCALARS = (str, bytes, float, bool, type(None))
_ARTICLE_TYPES = {"set": "a set", "frozenset": "a frozenset", "object": "an object"}


def _kind(value: object) -> str:
    name = type(value).__name__
    return _ARTICLE_TYPES.get(name, f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}")


def _fail(path: str, what: str) -> InvalidMessage:
    return InvalidMessage(f"{path} {what}; messages may hold {ALLOWED}.")


def check_message(message: object) -> dict[str, Any]:
    """Return ``message`` if a layer can carry it; raise ``InvalidMessage`` naming the path."""
    if not isinstance(message, dict):
        raise InvalidMessage(
            f"message is {_kind(message)}, not a dict; send a dict such as "
            '{"type": "chat.message", "text": "hi"}.'
        )
    _check_dict(message, "message", [id(message)])
    check_type(message)
    return message


def check_type(message: dict[str, Any]) -> str:
    """The message's ``type`` if a consumer can dispatch on it; else ``InvalidMessage``.

    A deliberate difference from Channels' layers, which accept such a message and let
    every consumer that receives it fail: here the sender hears about it.
    """
    if "type" not in message:
        raise InvalidMessage(
            "message has no 'type', so no consumer can dispatch it; add one, e.g. "
            '{"type": "chat.message", ...} (handled by chat_message()).'
        )
    type_ = message["type"]
    if type(type_) is not str:
        raise InvalidMessage(f'message["type"] is {_kind(type_)}; it must be a str.')
    if not type_:
        raise InvalidMessage('message["type"] is empty; name a handler, e.g. "chat.message".')
    if type_[0] in "_.":
        raise InvalidMessage(
            f"message[\"type\"] {type_!r} maps to a handler name that starts with '_'; "
            "private methods are never handlers, so no consumer could take it."
        )
    return type_


def _check_dict(value: dict[Any, Any], path: str, stack: list[int]) -> None:
    if len(stack) > MAX_DEPTH:
        raise _too_deep(path)
    for key, item in value.items():
        if type(key) is not str:
            raise _fail(f"{path} key {key!r}", f"is {_kind(key)}, not a str")
        if type(item) in _SCALARS:
            continue
        _check_value(item, f"{path}[{json.dumps(key)}]", stack)


def _check_value(value: object, path: str, stack: list[int]) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _fail(path, "is an int outside the signed 64-bit range")
        return
    if isinstance(value, (dict, list, tuple)):
        # Only the containers on the path from the top count: a value shared by two
        # branches is fine, one that contains itself is not.
        if id(value) in stack:
            raise InvalidMessage(
                f"{path} refers to itself (a cycle); messages must be trees of values."
            )
        stack.append(id(value))
        try:
            if isinstance(value, dict):
                _check_dict(value, path, stack)
            else:
                if len(stack) > MAX_DEPTH:
                    raise _too_deep(path)
                for index, item in enumerate(value):
                    if type(item) not in _SCALARS:
                        _check_value(item, f"{path}[{index}]", stack)
        finally:
            stack.pop()
        return
    raise _fail(path, f"is {_kind(value)}")


def _too_deep(path: str) -> InvalidMessage:
    return InvalidMessage(
        f"{path} is nested deeper than {MAX_DEPTH} levels of dicts and lists; "
        "flatten the message (the bound keeps encoding and decoding safe)."
    )
