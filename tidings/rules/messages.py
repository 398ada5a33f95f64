"""What a message may hold, and the error that says where it went wrong.

A message is a ``dict`` with ``str`` keys whose values are ``bytes``, ``str``,
``int`` (signed 64-bit), ``float``, ``bool``, ``None``, lists or tuples, and
nested dicts of the same. Anything else is rejected with ``InvalidMessage``
(a ``TypeError``) naming the path, e.g. ``message["data"][2] is a set``.
"""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import InvalidMessage

ALLOWED = "dicts with str keys, lists, tuples, str, bytes, int (64-bit), float, bool and None"
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
    _check_dict(message, "message")
    type_ = message.get("type")
    if type_ is not None and type(type_) is not str:
        raise InvalidMessage(f'message["type"] is {_kind(type_)}; it must be a str.')
    return message


def _check_dict(value: dict[Any, Any], path: str) -> None:
    for key, item in value.items():
        if type(key) is not str:
            raise _fail(f"{path} key {key!r}", f"is {_kind(key)}, not a str")
        if type(item) in _SCALARS:
            continue
        _check_value(item, f"{path}[{json.dumps(key)}]")


def _check_value(value: object, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _fail(path, "is an int outside the signed 64-bit range")
        return
    if isinstance(value, dict):
        _check_dict(value, path)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if type(item) not in _SCALARS:
                _check_value(item, f"{path}[{index}]")
        return
    raise _fail(path, f"is {_kind(value)}")
