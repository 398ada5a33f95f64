"""Per-channel capacity: a default, overridden by glob patterns or compiled regexes.

``channel_capacity={"http.request": 200, "tiny.*": 1, re.compile(r"^big"): 1000}``:
the first pattern that matches a channel name wins (dict order), as in Channels.
Globs match the whole name; compiled regexes use ``pattern.match`` like Channels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .options import CAPACITY, CHANNEL_CAPACITY
from .patterns import Pattern, compile_pattern

CapacitySpec = Mapping[Pattern, int] | Iterable[tuple[Pattern, int]] | None
_CACHE_LIMIT = 10_000


class CapacityRules:
    """Answers ``capacity_for(channel)``; results are cached per name."""

    __slots__ = ("_cache", "default", "patterns")

    def __init__(self, default: int = 100, patterns: CapacitySpec = None) -> None:
        # Checked by the options' own validators (rules/options.py), the one place that
        # knows their bounds, however the rules are built.
        self.default: int = CAPACITY.check(default)
        self.patterns: list[tuple[re.Pattern[str], int]] = [
            (compile_pattern(pattern), value) for pattern, value in CHANNEL_CAPACITY.check(patterns)
        ]
        self._cache: dict[str, int] = {}

    def capacity_for(self, channel: str) -> int:
        """The capacity of ``channel``: the first matching pattern's, else the default."""
        cached = self._cache.get(channel)
        if cached is not None:
            return cached
        result = self.default
        for pattern, value in self.patterns:
            if pattern.match(channel):
                result = value
                break
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[channel] = result
        return result
