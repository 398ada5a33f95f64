"""Per-channel capacity: a default, overridden by glob patterns or compiled regexes.

``channel_capacity={"http.request": 200, "tiny.*": 1, re.compile(r"^big"): 1000}``:
the first pattern that matches a channel name wins (dict order), as in Channels.
Globs match the whole name; compiled regexes use ``pattern.match`` like Channels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..exceptions import ConfigurationError
from .patterns import Pattern, compile_pattern

CapacitySpec = Mapping[Pattern, int] | Iterable[tuple[Pattern, int]] | None
_CACHE_LIMIT = 10_000


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ConfigurationError`` naming it."""
    if type(value) is not int or value < 1:
        raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}.")
    return value


class CapacityRules:
    """Answers ``capacity_for(channel)``; results are cached per name."""

    __slots__ = ("_cache", "default", "patterns")

    def __init__(self, default: int = 100, patterns: CapacitySpec = None) -> None:
        self.default = check_positive_int("capacity", default)
        self.patterns: list[tuple[re.Pattern[str], int]] = []
        items = patterns.items() if isinstance(patterns, Mapping) else (patterns or ())
        for item in items:
            try:
                pattern, value = item
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"channel_capacity entries must be (pattern, capacity) pairs, got {item!r}."
                ) from None
            self.patterns.append(
                (
                    compile_pattern(pattern),
                    check_positive_int(f"channel_capacity[{pattern!r}]", value),
                )
            )
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
