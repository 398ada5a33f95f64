"""Mapping a message ``type`` to the name of the consumer method that handles it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import NoHandler


def handler_name(message: Mapping[str, Any]) -> str:
    """``"chat.message"`` -> ``"chat_message"``; raise ``NoHandler`` if it cannot dispatch."""
    type_ = message.get("type")
    if type_ is None:
        raise NoHandler(
            f"Message has no 'type' key, so no handler can be chosen: {_keys(message)}. "
            'Add a type, e.g. {"type": "chat.message", ...}.'
        )
    if not isinstance(type_, str) or not type_:
        raise NoHandler(f"Message type {type_!r} must be a non-empty str.")
    name = type_.replace(".", "_")
    if name.startswith("_"):
        raise NoHandler(
            f"Message type {type_!r} maps to {name!r}, which starts with '_'; "
            "private methods are never handlers."
        )
    return name


def _keys(message: Mapping[str, Any]) -> str:
    return "keys " + ", ".join(repr(k) for k in list(message)[:8])
