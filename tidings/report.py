"""What ``group_send`` returns, and the warning that makes drops impossible to miss."""

from __future__ import annotations

import logging
import threading
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


CHANNELS_FULL = (
    "member channel(s) at capacity. Their consumers are not keeping up; raise capacity or "
    "channel_capacity, or make the consumers faster."
)
MAILBOXES_FULL = (
    "the mailbox of the member channels' process was full (mailbox_capacity entries waiting): "
    "that process is stalled or its reader cannot keep up. Check it, or raise mailbox_capacity."
)


class DropLog:
    """Counts messages dropped at capacity and warns at most once per group per interval
    (and reason: ``CHANNELS_FULL``, or ``MAILBOXES_FULL`` for a whole process's mailbox).

    Drops within an interval of the last warning are held back and logged together when
    the interval ends (a timer thread, so they are logged even if no drop follows), or at
    ``flush()`` (the layer's ``close()`` calls it): every drop reaches the log.
    """

    __slots__ = ("_last_warned", "_lock", "_pending", "_timer", "interval", "total")

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self.total = 0
        self._pending: dict[tuple[str, str], int] = {}
        self._last_warned: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def record(
        self, where: str, count: int, now: float | None = None, reason: str = CHANNELS_FULL
    ) -> None:
        """Count ``count`` drops for ``where`` (a group or channel) and maybe warn."""
        if count <= 0:
            return
        now = time.monotonic() if now is None else now
        key = (where, reason)
        with self._lock:
            self.total += count
            pending = self._pending.pop(key, 0) + count
            last = self._last_warned.get(key)
            if last is not None and now - last < self.interval:
                self._pending[key] = pending
                self._arm(last + self.interval - now)
                return
            if len(self._last_warned) > 10_000:
                self._last_warned.clear()
            self._last_warned[key] = now
        _warn(pending, where, reason)

    def flush(self) -> None:
        """Log every count held back now."""
        with self._lock:
            pending, self._pending = self._pending, {}
            for key in pending:
                # The held-back warning stands for the interval that just ended.
                last = self._last_warned.get(key)
                if last is not None:
                    self._last_warned[key] = last + self.interval
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        for (where, reason), count in pending.items():
            _warn(count, where, reason)

    def _arm(self, delay: float) -> None:
        # One timer at a time; when it fires it logs everything held back so far.
        if self._timer is None:
            self._timer = threading.Timer(max(delay, 0.0), self.flush)
            self._timer.daemon = True
            self._timer.start()


def _warn(count: int, where: str, reason: str) -> None:
    logger.warning("tidings dropped %d message(s) for %s: %s", count, where, reason)
