"""Messages to frames and back: validate once, copy once, enforce the size limit.

A *frame* is what an inbox stores. A flat message (every value a str, bytes,
int, float, bool or None) is kept as a dict copied once at send; every receiver
gets its own shallow copy, which for such a message is a full copy. Any other
message is kept msgpack-encoded and every receiver decodes its own copy. Either
way a receiver that mutates its message never changes what another one sees,
and both backends hand out the same types (tuples arrive as lists).
"""

from __future__ import annotations

from typing import Any

import msgpack

from .exceptions import InvalidMessage, MessageTooLarge
from .rules.messages import check_message

DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
Frame = dict[str, Any] | bytes
_packb = msgpack.Packer(use_bin_type=True, datetime=False).pack
_unpackb = msgpack.unpackb
_NUMBERS = (int, float, bool, type(None))


def flat_size_bound(message: dict[str, Any]) -> int:
    """An upper bound of the encoded size of a flat message, or -1 if it is not flat."""
    size = 6
    for key, value in message.items():
        kind = type(value)
        if kind is str:
            size += 4 * len(value) + 5
        elif kind is bytes:
            size += len(value) + 5
        elif kind in _NUMBERS:
            size += 9
        else:
            return -1
        size += 4 * len(key) + 5
    return size


def encode(message: object, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Frame:
    """Validate ``message`` and make its frame; raise ``InvalidMessage`` or ``MessageTooLarge``."""
    valid = check_message(message)
    bound = flat_size_bound(valid)
    if 0 <= bound <= max_size:
        return dict(valid)
    return pack(valid, max_size)


def pack(message: dict[str, Any], max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> bytes:
    """msgpack bytes of a validated message, within ``max_size``."""
    try:
        data: bytes = _packb(message)
    except (TypeError, ValueError, OverflowError) as exc:  # pragma: no cover - checked
        raise InvalidMessage(f"message could not be encoded: {exc}") from exc
    if len(data) > max_size:
        raise MessageTooLarge(
            f"message is {len(data):,} bytes encoded, over this layer's limit of "
            f"{max_size:,}; send a smaller message (e.g. a key to fetch the data by) "
            "or raise max_message_size in the layer's config."
        )
    return data


def to_bytes(frame: Frame) -> bytes:
    """The wire form of a frame."""
    return frame if type(frame) is bytes else _packb(frame)


def from_bytes(data: bytes) -> Frame:
    """The frame for bytes from the wire, decoded once for all local receivers."""
    message: dict[str, Any] = _unpackb(data)
    return message if flat_size_bound(message) >= 0 else data


def decode(frame: Frame) -> dict[str, Any]:
    """A receiver's own copy of the message in ``frame``."""
    if type(frame) is dict:
        return dict(frame)
    message: dict[str, Any] = _unpackb(frame)
    return message


def with_position(frame: Frame, key: str, position: str) -> Frame:
    """``frame`` with ``message[key] = position``; decoded and re-encoded once if packed."""
    if type(frame) is dict:
        return {**frame, key: position}
    message: dict[str, Any] = _unpackb(frame)
    message[key] = position
    packed: bytes = _packb(message)
    return packed
