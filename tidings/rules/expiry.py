"""When the periodic expiry sweeps run, on a monotonic clock, kept apart from any clock."""

from __future__ import annotations


def sweep_due(last_sweep: float, now: float, interval: float) -> bool:
    """True when a periodic sweep last run at ``last_sweep`` is due again."""
    return now - last_sweep >= interval


def sweep_interval(expiry: float, group_expiry: float) -> float:
    """How often stale inboxes and memberships are swept: often enough, never per call."""
    return max(1.0, min(expiry, group_expiry, 60.0))
