"""Bounded, expiring histories of one process's group messages (the memory backend's)."""

from __future__ import annotations

import heapq
import secrets
from collections import deque
from collections.abc import Callable

from ...codec import Frame
from ...rules.positions import Position, resume_problem


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

    def newest_deadline(self) -> float | None:
        """When the newest entry expires (None when there is none)."""
        return self.entries[-1][1] if self.entries else None

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


class Histories:
    """The histories of every history group, each freed once its newest entry expired.

    One heap entry per group, ordered by when the group may have expired: freeing costs
    O(log groups) per group per ``ttl``, never a pass over every group.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float]) -> None:
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self.groups: dict[str, GroupHistory] = {}
        self._due: list[tuple[float, str]] = []  # (earliest possible expiry, group)

    def __len__(self) -> int:
        return len(self.groups)

    def get(self, group: str) -> GroupHistory | None:
        self.expire()
        return self.groups.get(group)

    def open(self, group: str) -> GroupHistory:
        """The group's history, started (with a new epoch) if it has none."""
        self.expire()
        history = self.groups.get(group)
        if history is None:
            history = self.groups[group] = GroupHistory(self.size, self.ttl, self.clock)
            heapq.heappush(self._due, (self.clock() + self.ttl, group))
        return history

    def expire(self) -> None:
        """Free every history whose newest entry has expired (its epoch ends with it)."""
        due = self._due
        if not due:
            return
        now = self.clock()
        while due and due[0][0] <= now:
            _, group = heapq.heappop(due)
            history = self.groups.get(group)
            if history is None:
                continue
            newest = history.newest_deadline()
            if newest is None or newest <= now:
                del self.groups[group]
            else:  # appended to since: look again when its newest entry expires
                heapq.heappush(due, (newest, group))

    def clear(self) -> None:
        self.groups.clear()
        self._due.clear()
