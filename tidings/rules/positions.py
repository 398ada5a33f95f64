"""Positions in a group's history and whether a resume from one is possible. Pure.

A position is ``"<epoch>:<offset>"``. Offsets count the group's messages from 1; the epoch
is a random token that changes whenever the history is lost (flush, restart, expiry), so an
old position can never be mistaken for a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import InvalidPosition

POSITION_KEY = "tidings_position"


@dataclass(frozen=True)
class Position:
    epoch: str
    offset: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.offset}"


def parse_position(text: object) -> Position:
    """Read ``"epoch:offset"``; raise ``InvalidPosition`` saying what one looks like."""
    if isinstance(text, str):
        epoch, sep, offset = text.rpartition(":")
        if sep and epoch and offset.isdigit():
            return Position(epoch, int(offset))
    raise InvalidPosition(
        f"{text!r} is not a history position; positions look like 'a1b2c3d4:42' and come "
        f"from the {POSITION_KEY!r} key of a message."
    )


def resume_problem(since: Position, epoch: str | None, first: int, last: int) -> str | None:
    """Why messages after ``since`` cannot all be returned, or None if they can.

    ``first``..``last`` are the offsets still kept (``first > last`` when none are).
    """
    if epoch is None or since.epoch != epoch:
        return "the group's history was lost since that position (its epoch changed)"
    if since.offset > last:
        return f"that position ({since.offset}) is ahead of the history (last {last})"
    if since.offset + 1 < first and since.offset < last:
        return (
            f"messages {since.offset + 1} to {first - 1} were already trimmed from the history "
            "(raise history_size or history_ttl to keep more)"
        )
    return None
