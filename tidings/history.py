"""A bounded, expiring history of one process's group messages (the memory backend's)."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable

from .codec import Frame
from .rules.positions import Position, resume_problem


class GroupHistory:
    """The last ``size`` messages of a group, each kept at most ``ttl`` seconds."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float]) -> None:
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self.epoch = secrets.token_hex(8)
        self.last = 0
        self.entries: deque[tuple[int, float, Frame]] = deque(maxlen=size)

    def next_position(self) -> Position:
        """The position the next appended message gets."""
        return Position(self.epoch, self.last + 1)

    def append(self, frame: Frame) -> Position:
        self.last += 1
        self.entries.append((self.last, self.clock() + self.ttl, frame))
        return Position(self.epoch, self.last)

    def kept(self) -> list[Frame]:
        """Every message still kept, oldest first."""
        self._expire()
        return [frame for _, _, frame in self.entries]

    def _expire(self) -> None:
        now = self.clock()
        while self.entries and self.entries[0][1] <= now:
            self.entries.popleft()

    def since(self, position: Position) -> tuple[list[tuple[int, Frame]], str | None]:
        """(messages after ``position``, None) or ([], why that is impossible)."""
        self._expire()
        first = self.entries[0][0] if self.entries else self.last + 1
        problem = resume_problem(position, self.epoch, first, self.last)
        if problem:
            return [], problem
        return [(o, f) for o, _, f in self.entries if o > position.offset], None
