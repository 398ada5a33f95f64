"""What ``group_send`` returns, and the warning that makes drops impossible to miss."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

logger = logging.getLogger("tidings")


@dataclass(frozen=True, slots=True)
class GroupSendReport:
    """The outcome of one ``group_send``.

    ``members`` is how many member channels the message was addressed to,
    ``delivered`` how many accepted it, ``dropped`` how many missed it: at capacity,
    or (``gone``, Redis) in a process that stopped heartbeating. For a remote backend
    the counts are those known when the call returns (see the backend's docs).
    ``membership_reset`` (Redis) is true when Redis lost its data so recently that
    member processes may not have announced themselves again: the counts may then
    miss members. ``ok`` is true when nothing was dropped and the counts are complete.
    """

    group: str
    members: int
    delivered: int
    dropped: int
    gone: int = 0
    membership_reset: bool = False

    @property
    def ok(self) -> bool:
        """True when every addressed member accepted the message, and the addressed
        members are all there are."""
        return self.dropped == 0 and not self.membership_reset

    def as_dict(self) -> dict[str, object]:
        """The report as a JSON-friendly dict."""
        return {
            "group": self.group,
            "members": self.members,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "gone": self.gone,
            "membership_reset": self.membership_reset,
        }


class DropLog:
    """Counts messages dropped at capacity and warns at most once per group per interval."""

    __slots__ = ("_last_warned", "_pending", "interval", "total")

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self.total = 0
        self._pending: dict[str, int] = {}
        self._last_warned: dict[str, float] = {}

    def record(self, where: str, count: int, now: float | None = None) -> None:
        """Count ``count`` drops for ``where`` (a group or channel) and maybe warn."""
        if count <= 0:
            return
        self.total += count
        pending = self._pending.get(where, 0) + count
        now = time.monotonic() if now is None else now
        last = self._last_warned.get(where)
        if last is not None and now - last < self.interval:
            self._pending[where] = pending
            return
        self._pending.pop(where, None)
        if len(self._last_warned) > 10_000:
            self._last_warned.clear()
        self._last_warned[where] = now
        logger.warning(
            "tidings dropped %d message(s) for %s: member channel(s) at capacity. "
            "Their consumers are not keeping up; raise capacity or channel_capacity, "
            "or make the consumers faster.",
            pending,
            where,
        )
