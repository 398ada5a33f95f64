"""A layer's counters and gauges: defined (and documented) once, written by one object.

``Statistics`` is the snapshot users get from ``layer.statistics()``; each field says what it
counts, whether it is a counter (only grows) or a gauge (a value now), and whether every
process publishes it with its heartbeat (``tidings inspect`` shows those). ``metrics``, the
Redis heartbeat and ``tidings inspect`` read that list from here instead of naming fields.

``Counters`` is the only writer of the counters: the hub adds to them while it holds its
lock, anyone else (the Redis mailbox reader, a group send) through ``add``, which takes the
same lock. No other object keeps a counter of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

COUNTER, GAUGE = "counter", "gauge"


def _about(kind: str, doc: str, published: bool = False) -> dict[str, Any]:
    return {"kind": kind, "doc": doc, "published": published}


@dataclass(frozen=True, slots=True)
class Statistics:
    """A snapshot of a layer's counters (since creation) and gauges (now), in this process."""

    sent: int = field(
        metadata=_about(COUNTER, "Messages accepted into an inbox in this process", True)
    )
    received: int = field(
        metadata=_about(COUNTER, "Messages handed to a receiver in this process", True)
    )
    dropped: int = field(
        metadata=_about(
            COUNTER,
            "Messages dropped because a member channel was at capacity or its process gone, "
            "or because they could not be read",
            True,
        )
    )
    expired: int = field(
        metadata=_about(COUNTER, "Messages that expired unread (here or on the way)", True)
    )
    channels: int = field(metadata=_about(GAUGE, "Channels with an inbox in this process", True))
    groups: int = field(metadata=_about(GAUGE, "Groups with local members"))
    memberships: int = field(metadata=_about(GAUGE, "Local group memberships"))
    queued: int = field(metadata=_about(GAUGE, "Messages waiting in this process's inboxes", True))
    waiting_receivers: int = field(metadata=_about(GAUGE, "Receivers waiting for a message"))
    deepest: dict[str, int] = field(
        metadata=_about("", "The deepest inboxes: channel -> unread messages (at most 10)")
    )
    reconnects: int = field(
        default=0,
        metadata=_about(
            COUNTER, "Times this process came back to its backend after losing it", True
        ),
    )
    backend_errors: int = field(
        default=0,
        metadata=_about(
            COUNTER,
            "Round trips to the backend that failed (timeouts, lost connections, error replies "
            "such as OOM or READONLY)",
            True,
        ),
    )

    def published(self) -> dict[str, int]:
        """The fields every process publishes with its heartbeat, by name."""
        return {name: getattr(self, name) for name in PUBLISHED}


def _names(kind: str) -> dict[str, str]:
    return {f.name: f.metadata["doc"] for f in fields(Statistics) if f.metadata["kind"] == kind}


COUNTERS: dict[str, str] = _names(COUNTER)
"""Counter fields and what each counts."""
GAUGES: dict[str, str] = _names(GAUGE)
"""Gauge fields and what each measures."""
PUBLISHED: tuple[str, ...] = tuple(f.name for f in fields(Statistics) if f.metadata["published"])
"""Fields a process publishes with its heartbeat (``tidings inspect``'s columns)."""


class Counters:
    """The counters of one layer (one per hub); the only place they are written.

    ``expired_in_transit`` (expired in the backend before reaching an inbox here) and
    ``flushed`` are kept apart from ``expired`` because ``received`` is derived from them.
    """

    __slots__ = (
        "backend_errors",
        "dropped",
        "expired",
        "expired_in_transit",
        "flushed",
        "lock",
        "reconnects",
        "sent",
    )

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock  # the hub's: its hot paths add while they hold it anyway
        self.sent = self.dropped = self.expired = self.expired_in_transit = self.flushed = 0
        self.reconnects = self.backend_errors = 0

    def add(self, name: str, count: int = 1) -> None:
        """Add ``count`` to the counter ``name``, under the lock (callers that do not hold it)."""
        with self.lock:
            setattr(self, name, getattr(self, name) + count)
