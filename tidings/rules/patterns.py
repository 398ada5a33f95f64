"""Name patterns used by configuration: glob strings or compiled regexes. Pure."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from .options import check_pattern

Pattern = str | re.Pattern[str]


def escape_glob(text: str) -> str:
    """``text`` with Redis glob characters escaped, for a ``SCAN MATCH`` of a literal."""
    return re.sub(r"([\\*?\[\]^])", r"\\\1", text)


def compile_pattern(pattern: object, option: str = "channel_capacity") -> re.Pattern[str]:
    """A glob (whole-name match) or an already compiled regex (``match``, as Channels does).

    Checked by ``options.check_pattern``, the one validator of patterns."""
    checked = check_pattern(pattern, option)
    if isinstance(checked, re.Pattern):
        return checked
    return re.compile(fnmatch.translate(checked))


class NameSet:
    """Answers "does this name match any of the patterns?", cached per name."""

    __slots__ = ("_cache", "patterns")

    def __init__(self, patterns: Iterable[object], option: str) -> None:
        if isinstance(patterns, (str, re.Pattern)):
            patterns = [patterns]
        self.patterns = [compile_pattern(p, option) for p in patterns]
        self._cache: dict[str, bool] = {}

    def __contains__(self, name: str) -> bool:
        found = self._cache.get(name)
        if found is None:
            found = any(p.match(name) for p in self.patterns)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[name] = found
        return found

    def __bool__(self) -> bool:
        return bool(self.patterns)
