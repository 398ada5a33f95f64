"""A pure reference model of the channel layer contract (docs/contract.md), for the
stateful test.

No I/O, no event loop, no tidings code: channels are lists, groups are dicts of
membership deadlines, and time is a number the test moves. Written from docs/contract.md and
the README, not from the backends, so a backend bug shows up as a disagreement.

What it models: channels with a capacity and message expiry, groups with ``group_expiry``,
``group_send`` reports (members, delivered, dropped), ``flush``, presence join/leave
events, bounded and expiring group history, and which input is rejected with which error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"[A-Za-z0-9\-_.]{1,99}")
MAX_DEPTH = 32  # README, "Input rules"
HISTORY_KEY = "tidings_position"


class Rejected(Exception):
    """What the model expects a backend to raise: ``kind`` is the exception's class name."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Config:
    capacity: int = 3
    expiry: float = 4.0
    group_expiry: float = 6.0
    presence: tuple[str, ...] = ()  # group names with presence events
    history: tuple[str, ...] = ()  # group names that keep history
    history_size: int = 3
    history_ttl: float = 5.0


@dataclass
class Report:
    members: int
    delivered: int
    dropped: int


@dataclass
class Model:
    config: Config
    now: float = 0.0
    queues: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    histories: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    dropped: int = 0

    # -- input rules ---------------------------------------------------------------

    @staticmethod
    def check_channel(name: object) -> str:
        if type(name) is not str:
            raise Rejected("InvalidName")
        base, _, local = name.partition("!")
        if len(name) > 99 or not NAME.fullmatch(base) or "!" in local:
            raise Rejected("InvalidName")
        if local and not re.fullmatch(r"[A-Za-z0-9\-_.]+", local):
            raise Rejected("InvalidName")
        return name

    @staticmethod
    def check_group(name: object) -> str:
        if type(name) is not str or not NAME.fullmatch(name):
            raise Rejected("InvalidName")
        return name

    @staticmethod
    def check_message(message: object) -> dict[str, Any]:
        if type(message) is not dict:
            raise Rejected("InvalidMessage")
        kind = message.get("type")
        if type(kind) is not str or not kind or kind[0] in "_.":
            raise Rejected("InvalidMessage")
        _check_value(message, 1, set())
        return message

    # -- channels ------------------------------------------------------------------

    def _live(self, channel: str) -> list[tuple[float, dict[str, Any]]]:
        queue = [(d, m) for d, m in self.queues.get(channel, []) if d > self.now]
        self.queues[channel] = queue
        return queue

    def _put(self, channel: str, message: dict[str, Any]) -> bool:
        queue = self._live(channel)
        if len(queue) >= self.config.capacity:
            return False
        queue.append((self.now + self.config.expiry, _copy(message)))
        return True

    def send(self, channel: object, message: object) -> None:
        self.check_channel(channel)
        message = self.check_message(message)
        assert isinstance(channel, str)
        if not self._put(channel, message):
            raise Rejected("ChannelFull")

    def receive(self, channel: str) -> dict[str, Any] | None:
        """The next live message, or None when the backend must have nothing."""
        queue = self._live(channel)
        return queue.pop(0)[1] if queue else None

    # -- groups --------------------------------------------------------------------

    def members(self, group: str) -> list[str]:
        members = self.groups.get(group, {})
        return [c for c, until in members.items() if until > self.now]

    def group_add(self, group: object, channel: object) -> None:
        self.check_group(group)
        self.check_channel(channel)
        assert isinstance(group, str) and isinstance(channel, str)
        new = channel not in self.members(group)
        self.groups.setdefault(group, {})[channel] = self.now + self.config.group_expiry
        if new and group in self.config.presence:
            self.group_send(group, {"type": "presence.join", "group": group, "channel": channel})

    def group_discard(self, group: object, channel: object) -> None:
        self.check_group(group)
        self.check_channel(channel)
        assert isinstance(group, str) and isinstance(channel, str)
        was = channel in self.members(group)
        self.groups.get(group, {}).pop(channel, None)
        if was and group in self.config.presence:
            self.group_send(group, {"type": "presence.leave", "group": group, "channel": channel})

    def group_send(self, group: object, message: object) -> Report:
        self.check_group(group)
        message = self.check_message(message)
        assert isinstance(group, str)
        if group in self.config.history:
            kept = self._history(group)
            kept.append((self.now + self.config.history_ttl, _copy(message)))
            del kept[: -self.config.history_size]
        members = self.members(group)
        delivered = sum(1 for channel in members if self._put(channel, message))
        self.dropped += len(members) - delivered
        return Report(len(members), delivered, len(members) - delivered)

    def _history(self, group: str) -> list[tuple[float, dict[str, Any]]]:
        kept = [(d, m) for d, m in self.histories.get(group, []) if d > self.now]
        self.histories[group] = kept
        return kept

    def group_history(self, group: str) -> list[dict[str, Any]]:
        if group not in self.config.history:
            raise Rejected("HistoryUnavailable")
        return [m for _, m in self._history(group)]

    # -- the rest ------------------------------------------------------------------

    def flush(self) -> None:
        self.queues.clear()
        self.groups.clear()
        self.histories.clear()

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _check_value(value: object, depth: int, seen: set[int]) -> None:
    if isinstance(value, (dict, list, tuple)) and depth > MAX_DEPTH:
        raise Rejected("InvalidMessage")
    if isinstance(value, dict):
        if id(value) in seen:
            raise Rejected("InvalidMessage")
        seen = seen | {id(value)}
        for key, item in value.items():
            if type(key) is not str:
                raise Rejected("InvalidMessage")
            _check_value(item, depth + 1, seen)
    elif isinstance(value, (list, tuple)):
        if id(value) in seen:
            raise Rejected("InvalidMessage")
        seen = seen | {id(value)}
        for item in value:
            _check_value(item, depth + 1, seen)
    elif isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise Rejected("InvalidMessage")
    else:
        raise Rejected("InvalidMessage")


def _copy(value: Any) -> Any:
    """What a receiver gets: tuples travel as lists."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def strip_position(message: dict[str, Any]) -> dict[str, Any]:
    """A received history-group message without the position the layer stamps on it."""
    return {k: v for k, v in message.items() if k != HISTORY_KEY}
