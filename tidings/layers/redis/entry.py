"""The bytes of one Redis list entry: built and parsed here, nowhere else. Pure, no I/O.

An entry is what a sender (or a Lua script on its behalf) pushes onto a process's mailbox
list or a normal channel's list::

    offset  size  field
    0       15    deadline: ms on the Redis server clock, ASCII digits, zero-padded
    15      2     position length L, ASCII digits ("00": the message has no history position)
    17      L     position, "<epoch>:<offset>" (history groups only)
    17+L    1     kind: "d" direct, "g" group, "c" control, "q" queued on a normal channel
    18+L    3     target length T, ASCII digits
    21+L    T     target: the channel (d), group (g) or control action (c); empty for q
    21+L+T  rest  payload: the message exactly as the sender encoded it (msgpack, maybe
                  encrypted), or a control's msgpack arguments

Why this shape:

- The deadline comes first so a Lua script or a reader drops an expired entry by reading
  15 bytes, without decoding anything.
- The sender sends the *header* (kind and target, ``header()``) and the *payload* once per
  call; a script writes ``deadline .. position block .. header .. payload`` into each member
  mailbox, and the bare payload into history, so a group_send's payload crosses the wire once
  and is never packed twice (today's envelope packs it inside msgpack and sends it again
  for normal channels).
- The payload is the last field and is not wrapped, so a receiving process decodes it once
  (``codec.from_bytes``) and fans that one frame out to its local members.

In Lua (Redis 7), with ``ARGV[h]`` the header and ``ARGV[p]`` the payload::

    local pos = position == '' and '00' or string.format('%02d', #position) .. position
    local entry = string.format('%015d', now + expiry) .. pos .. ARGV[h] .. ARGV[p]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgpack

DEADLINE_DIGITS = 15
DIRECT, GROUP, CONTROL, QUEUED = "d", "g", "c", "q"
KINDS = frozenset((DIRECT, GROUP, CONTROL, QUEUED))
MAX_POSITION = 99
MAX_TARGET = 999
_MAX_DEADLINE = 10**DEADLINE_DIGITS - 1
_NO_POSITION = b"00"
QUEUED_HEADER = b"q000"  # the header of every entry on a normal channel's list
ADD, DISCARD, FLUSH = "add", "discard", "flush"  # the targets of control entries

LUA_BUILD = (
    "string.format('%015d', deadline) .. "
    "(position == '' and '00' or string.format('%02d', #position) .. position) .. "
    "header .. payload"
)
"""The Lua expression scripts use to build an entry (tested against a real Redis)."""


class Entry(NamedTuple):
    """One parsed list entry."""

    deadline_ms: int
    position: str | None
    kind: str
    target: str
    payload: bytes


class MalformedEntry(ValueError):
    """Raised when bytes read from a Redis list are not an entry of this format."""


def header(kind: str, target: str = "") -> bytes:
    """The kind-and-target part of an entry, sent once per call next to the payload."""
    if kind not in KINDS:
        raise ValueError(f"entry kind must be one of {sorted(KINDS)}, got {kind!r}.")
    raw = target.encode()
    if len(raw) > MAX_TARGET:
        raise ValueError(f"entry target is {len(raw)} bytes; at most {MAX_TARGET} fit.")
    if kind == QUEUED and raw:
        raise ValueError("a queued entry has no target: the list is its channel.")
    return b"%s%03d%s" % (kind.encode(), len(raw), raw)


def position_block(position: str | None) -> bytes:
    """The length-prefixed position field (``b"00"`` for none)."""
    if not position:
        return _NO_POSITION
    raw = position.encode()
    if len(raw) > MAX_POSITION:
        raise ValueError(f"history position is {len(raw)} bytes; at most {MAX_POSITION} fit.")
    return b"%02d%s" % (len(raw), raw)


def build(
    deadline_ms: int, kind: str, target: str, payload: bytes, position: str | None = None
) -> bytes:
    """A whole entry, as the Lua expression ``LUA_BUILD`` makes it."""
    if not 0 <= deadline_ms <= _MAX_DEADLINE:
        raise ValueError(f"deadline {deadline_ms!r} ms does not fit {DEADLINE_DIGITS} digits.")
    return b"%015d%s%s%s" % (deadline_ms, position_block(position), header(kind, target), payload)


def deadline_of(entry: bytes) -> int:
    """The deadline (ms, Redis clock) of an entry, reading nothing else."""
    try:
        return int(entry[:DEADLINE_DIGITS])
    except ValueError:
        raise MalformedEntry(f"entry does not start with a deadline: {entry[:24]!r}") from None


_KIND_OF_BYTE = {ord(kind): kind for kind in KINDS}
_new_tuple = tuple.__new__  # builds an Entry without NamedTuple's slower __new__


def parse(entry: bytes) -> Entry:
    """Split an entry into its fields; the payload is returned undecoded.

    Raises ``MalformedEntry`` for bytes not of this format (e.g. written by another version).
    """
    try:
        length = int(entry[15:17])
        end = 17 + length
        kind = _KIND_OF_BYTE[entry[end]]
        at = end + 4
        stop = at + int(entry[end + 1 : at])
        # int() also takes signs, blanks and '_': the digits are checked as well
        if not (entry[:17].isdigit() and entry[end + 1 : at].isdigit() and len(entry) >= stop):
            raise ValueError
        position = entry[17:end].decode() if length else None
        fields = (int(entry[:15]), position, kind, entry[at:stop].decode(), entry[stop:])
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        raise MalformedEntry(
            f"not a tidings list entry (another tidings version, or a foreign writer?): "
            f"{entry[:40]!r}"
        ) from None
    return _new_tuple(Entry, fields)


def control_payload(arguments: Any) -> bytes:
    """The payload of a control entry: its arguments, msgpack."""
    data: bytes = msgpack.packb(arguments, use_bin_type=True)
    return data


def control_arguments(payload: bytes) -> Any:
    """The arguments of a control entry (``control_payload``'s inverse)."""
    return msgpack.unpackb(payload, raw=False)


def split_history_member(member: bytes) -> tuple[int, bytes]:
    """(offset, payload) of a history zset member: offset(15) expiry-ms(15) payload."""
    return int(member[:15]), member[30:]
