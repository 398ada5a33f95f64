"""Expiry arithmetic on a monotonic clock, kept apart from any clock.

Every deadline is ``now + seconds``; a thing is expired once ``now >= deadline``.
"""

from __future__ import annotations


def deadline(now: float, seconds: float) -> float:
    """The moment ``seconds`` after ``now``."""
    return now + seconds


def is_expired(deadline_: float, now: float) -> bool:
    """True once ``now`` has reached ``deadline_``."""
    return now >= deadline_


def sweep_due(last_sweep: float, now: float, interval: float) -> bool:
    """True when a periodic sweep last run at ``last_sweep`` is due again."""
    return now - last_sweep >= interval


def sweep_interval(expiry: float, group_expiry: float) -> float:
    """How often stale inboxes and memberships are swept: often enough, never per call."""
    return max(1.0, min(expiry, group_expiry, 60.0))
