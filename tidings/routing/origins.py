"""Whether a WebSocket's ``Origin`` is allowed, as Channels' OriginValidator decides. Pure.

Patterns: ``"*"`` (any), ``"example.com"`` (that host), ``".example.com"`` (it and every
subdomain), ``"http://example.com:8000"`` (scheme, host and port must all match).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """True if ``origin`` (the header's value, or None when absent) matches a pattern."""
    patterns = list(patterns)
    if "*" in patterns:
        return True
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin.lower())
    if not parts.hostname:
        return False
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    for pattern in patterns:
        pattern = pattern.lower()
        if "://" in pattern:
            want = urlsplit(pattern)
            want_port = want.port or _DEFAULT_PORTS.get(want.scheme)
            if (want.scheme, want.hostname, want_port) == (parts.scheme, parts.hostname, port):
                return True
        elif pattern.startswith("."):
            if parts.hostname == pattern[1:] or parts.hostname.endswith(pattern):
                return True
        elif parts.hostname == pattern.split(":")[0]:
            return True
    return False
