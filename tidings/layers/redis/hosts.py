"""channels_redis's ``hosts`` forms, parsed into connection settings; secrets kept out of sight.

Accepted, as in channels_redis: ``"redis://[[user]:password@]host:port/db"``,
``"rediss://..."`` (TLS), ``"unix:///path.sock"``, ``(host, port)`` tuples and dicts
(``{"address": "redis://...", "password": ..., "ssl_cert_reqs": ...}`` or
``{"host": ..., "port": ..., ...}``); the default is ``redis://localhost:6379``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...exceptions import ConfigurationError

DEFAULT_HOST = "redis://localhost:6379"
_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")


@dataclass(frozen=True)
class Host:
    """One Redis server: how to connect, and a label safe to print."""

    url: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``host:port/db`` without user, password or query: safe for logs and errors."""
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return f"unix:{parts.path}"
        netloc = (parts.hostname or "localhost") + (f":{parts.port}" if parts.port else "")
        return f"{parts.scheme}://{netloc}{parts.path or ''}"

    def __repr__(self) -> str:
        return f"Host({self.label!r})"


def parse_hosts(hosts: object) -> list[Host]:
    """Turn the ``hosts`` option into ``Host`` objects; raise ``ConfigurationError`` if bad."""
    if hosts is None:
        return [Host(DEFAULT_HOST)]
    if isinstance(hosts, (str, Mapping)) or (
        isinstance(hosts, tuple) and len(hosts) == 2 and isinstance(hosts[1], int)
    ):
        hosts = [hosts]
    if not isinstance(hosts, Iterable):
        raise ConfigurationError(
            f"hosts must be a list of Redis URLs, tuples or dicts; got {hosts!r}."
        )
    parsed = [_parse_one(item) for item in hosts]
    if not parsed:
        raise ConfigurationError(
            "hosts is empty; give at least one, e.g. ['redis://localhost:6379']."
        )
    return parsed


def _parse_one(item: object) -> Host:
    if isinstance(item, str):
        return Host(_check_url(item))
    if isinstance(item, (tuple, list)) and len(item) == 2:
        host, port = item
        if not isinstance(port, int):
            raise ConfigurationError(f"hosts tuple port must be an int, got {port!r}.")
        return Host(f"redis://{host or 'localhost'}:{port}")
    if isinstance(item, Mapping):
        options = dict(item)
        if "address" in options:
            address = options.pop("address")
            if isinstance(address, (tuple, list)):
                return Host(_parse_one(tuple(address)).url, options)
            return Host(_check_url(str(address)), options)
        host = options.pop("host", "localhost")
        port = options.pop("port", 6379)
        db = options.pop("db", 0)
        scheme = "rediss" if options.pop("ssl", False) else "redis"
        return Host(f"{scheme}://{host}:{port}/{db}", options)
    raise ConfigurationError(
        f"Cannot read Redis host {_redact(item)!r}: use 'redis://host:port/db', "
        "(host, port) or a dict with 'address' or 'host'/'port'."
    )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(
            f"Redis URL {_redact(url)!r} has scheme {parts.scheme!r}; use redis://, rediss:// "
            "or unix://."
        )
    if parts.scheme.startswith("valkey"):
        url = urlunsplit(parts._replace(scheme=parts.scheme.replace("valkey", "redis")))
    return url


def _redact(item: object) -> str:
    text = str(item)
    if "@" in text:
        parts = urlsplit(text)
        if parts.password or parts.username:
            host = parts.hostname or ""
            return urlunsplit(parts._replace(netloc=f"***@{host}:{parts.port or ''}"))
    return text
