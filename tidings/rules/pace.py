"""How fast entries come to a mailbox reader, and whether holding its next read pays. Pure.

A Redis mailbox reader (``layers/redis/mailbox.py``) may hold its next read for up to a
``batch_window`` so that one read brings many entries: each read costs the process and
Redis a round trip of system calls (~50-100 µs of CPU on a busy 2-core machine), so at
thousands of entries a second reading them one by one costs a core's worth. Holding
pays only while entries come fast: at two per window it would add up to a window of
latency to every message to save fewer than one read in two. ``Pace`` tells the two
apart from the reads themselves, without a clock of its own.
"""

from __future__ import annotations

import math

# Hold reads only while entries come at least this many per window: a held read then
# brings several, and most reads are saved (3 in 4 at this pace).
WORTH_HOLDING = 4.0
# How many windows the pace remembers: long enough that a burst within one window does not
# pass for a steady stream, short enough to follow a change of load within a few windows.
SPAN = 4


class Pace:
    """Entries per window lately. Each read adds its entries / ``SPAN``, and the sum
    fades with e^(-elapsed / (``SPAN`` windows)): a steady stream of r entries per
    window reads r, the same entries arriving in one burst read a quarter of that,
    and an idle reader's pace falls to nothing within a few windows."""

    def __init__(self, window: float, now: float) -> None:
        """``window``: the reader's batch window in seconds (> 0); ``now``: a monotonic
        time, the same clock as every later ``add``."""
        self.window = window
        self.value = 0.0
        self.at = now

    def add(self, entries: int, now: float) -> float:
        """Count a read that brought ``entries`` at ``now``; the pace after it."""
        fade = math.exp((self.at - now) / (SPAN * self.window)) if now > self.at else 1.0
        self.value = self.value * fade + entries / SPAN
        self.at = max(self.at, now)
        return self.value

    @property
    def worth_holding(self) -> bool:
        """Whether entries come fast enough for holding the next read to pay."""
        return self.value >= WORTH_HOLDING
