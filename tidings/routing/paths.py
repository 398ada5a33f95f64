"""Django-style path patterns compiled to regexes, for ``URLRouter``: ``"chat/<str:room>/"``. Pure.

Converters: ``str`` (no slash), ``int``, ``slug``, ``uuid`` and ``path`` (anything).
Patterns match the request path without its leading ``/``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import ConfigurationError

CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "slug": (r"[-a-zA-Z0-9_]+", str),
    "uuid": (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid.UUID),
    "path": (r".+", str),
}
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class PathPattern:
    """A compiled route pattern: ``match`` gives its keyword arguments or None."""

    pattern: str
    regex: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]

    def match(self, path: str, prefix: bool = False) -> tuple[dict[str, Any], str] | None:
        """(kwargs, rest of the path) if ``path`` matches (only its start when ``prefix``)."""
        found = self.regex.match(path) if prefix else self.regex.fullmatch(path)
        if found is None:
            return None
        kwargs = {k: self.converters[k](v) for k, v in found.groupdict().items()}
        return kwargs, path[found.end() :]


def compile_path(pattern: str) -> PathPattern:
    """Compile ``pattern``; raise ``ConfigurationError`` naming an unknown converter."""
    if pattern.startswith("/"):
        pattern = pattern[1:]
    parts: list[str] = []
    converters: dict[str, Callable[[str], Any]] = {}
    end = 0
    for found in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[end : found.start()]))
        conv = found.group("conv") or "str"
        if conv not in CONVERTERS:
            raise ConfigurationError(
                f"Route {pattern!r} uses converter {conv!r}; use one of "
                + ", ".join(CONVERTERS)
                + "."
            )
        regex, convert = CONVERTERS[conv]
        parts.append(f"(?P<{found.group('name')}>{regex})")
        converters[found.group("name")] = convert
        end = found.end()
    parts.append(re.escape(pattern[end:]))
    return PathPattern(pattern, re.compile("".join(parts)), converters)
