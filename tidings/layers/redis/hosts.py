"""channels_redis's ``hosts`` forms, parsed into connection settings; secrets kept out of sight.

Accepted, as in channels_redis: ``"redis://[[user]:password@]host:port/db"``,
``"rediss://..."`` (TLS), ``"unix:///path.sock"``, ``(host, port)`` tuples and dicts
(``{"address": "redis://...", "password": ..., "ssl_cert_reqs": ...}`` or
``{"host": ..., "port": ..., ...}``); the default is ``redis://localhost:6379``.
Sentinel dicts, ``redis+sentinel://`` and ``redis+cluster://`` URLs are parsed by
``deployments.py``; a Cluster must be the only entry of ``hosts`` (it shards by itself).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...exceptions import ConfigurationError
from .deployments import ClusterHost, SentinelHost, is_deployment, parse_deployment
from .redaction import encode_userinfo, shape

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


def parse_hosts(hosts: object) -> list[Host | SentinelHost | ClusterHost]:
    """Turn the ``hosts`` option into ``Host`` objects; raise ``ConfigurationError`` if bad.

    Errors describe the bad entry by its position and shape, never by echoing it: a
    malformed entry may hold a password anywhere.
    """
    if hosts is None:
        return [Host(DEFAULT_HOST)]
    if isinstance(hosts, (str, Mapping)) or (
        isinstance(hosts, tuple) and len(hosts) == 2 and isinstance(hosts[1], int)
    ):
        hosts = [hosts]
    if not isinstance(hosts, Iterable) or isinstance(hosts, (bytes, bytearray)):
        raise ConfigurationError(
            f"hosts must be a list of Redis URLs, tuples or dicts; got {shape(hosts)}."
        )
    parsed = [_parse_any(item, f"hosts[{i}]") for i, item in enumerate(hosts)]
    if not parsed:
        raise ConfigurationError(
            "hosts is empty; give at least one, e.g. ['redis://localhost:6379']."
        )
    if len(parsed) > 1 and any(isinstance(host, ClusterHost) for host in parsed):
        raise ConfigurationError(
            "hosts lists a Redis Cluster with other hosts; a Cluster shards keys over its "
            "masters by itself: give it alone, e.g. ['redis+cluster://10.0.0.1:7000,"
            "10.0.0.2:7000'] (several seed nodes in one URL)."
        )
    return parsed


def _parse_any(item: object, where: str) -> Host | SentinelHost | ClusterHost:
    """A plain host here; a Sentinel dict or URL, or a Cluster URL, in ``deployments.py``."""
    if not is_deployment(item):
        return _parse_one(item, where)
    host = parse_deployment(item)
    if isinstance(host, ClusterHost):
        _check_client_keys(host.options, where)
        return host
    _check_client_keys(host.options, f"{where} (for the master)")
    _check_client_keys(host.sentinel_options, f"{where}['sentinel_kwargs']")
    return host


def _parse_one(item: object, where: str) -> Host:
    if isinstance(item, str):
        return Host(_check_url(item, where))
    if isinstance(item, (tuple, list)) and len(item) == 2:
        host, port = item
        return Host(f"redis://{_check_hostname(host, where)}:{_check_port(port, where)}")
    if isinstance(item, Mapping):
        options = dict(item)
        if "address" in options:
            address = options.pop("address")
            _check_client_keys(options, where)
            if isinstance(address, (tuple, list)):
                return Host(_parse_one(tuple(address), where).url, options)
            if not isinstance(address, str):
                raise ConfigurationError(
                    f"{where}['address'] must be a Redis URL or (host, port); got {shape(address)}."
                )
            return Host(_check_url(address, f"{where}['address']"), options)
        host = _check_hostname(options.pop("host", "localhost"), where)
        port = _check_port(options.pop("port", 6379), where)
        db = options.pop("db", 0)
        if isinstance(db, bool) or not isinstance(db, (int, str)) or not str(db).isdigit():
            raise ConfigurationError(f"{where}['db'] must be a database number, got {shape(db)}.")
        scheme = "rediss" if options.pop("ssl", False) else "redis"
        _check_client_keys(options, where)
        return Host(f"{scheme}://{host}:{port}/{db}", options)
    raise ConfigurationError(
        f"Cannot read Redis host {where} ({shape(item)}): use 'redis://host:port/db', "
        "(host, port) or a dict with 'address' or 'host'/'port'."
    )


def _check_hostname(host: object, where: str) -> str:
    if not isinstance(host, str) or not host or any(c in host for c in "/@?# "):
        raise ConfigurationError(
            f"{where} must give a plain host name such as '127.0.0.1' with its port; "
            f"got {shape(host)} that is not one (give URLs as strings, not inside a tuple)."
        )
    return host


def _check_port(port: object, where: str) -> int:
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        shown = repr(port) if isinstance(port, int) else shape(port)  # may be a secret
        raise ConfigurationError(
            f"{where} has port {shown}; a port is a whole number from 1 to 65535."
        )
    return port


def _client_keys() -> frozenset[str]:
    """The keyword arguments redis-py's client and connections take."""
    global _CLIENT_KEYS
    if _CLIENT_KEYS is None:
        from redis.asyncio import Redis, connection

        keys: set[str] = set()
        for init in (
            Redis.__init__,
            connection.AbstractConnection.__init__,
            connection.SSLConnection.__init__,
            connection.UnixDomainSocketConnection.__init__,
        ):
            for name, param in inspect.signature(init).parameters.items():
                if param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                    keys.add(name)
        _CLIENT_KEYS = frozenset(keys - {"self", "connection_pool"})
    return _CLIENT_KEYS


_CLIENT_KEYS: frozenset[str] | None = None


def _check_client_keys(options: Mapping[str, Any], where: str) -> None:
    allowed = _client_keys()
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"{where} has key {key!r}, which redis-py does not take{hint} "
                "(see redis.asyncio.Redis for the connection options)."
            )


def _check_url(url: str, where: str) -> str:
    url = encode_userinfo(url)
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(
            f"Redis URL {where} has scheme {parts.scheme!r}; use redis://, rediss:// "
            "or unix:// (e.g. redis://:password@host:6379/0)."
        )
    if parts.scheme != "unix":
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= 65535:
            raise ConfigurationError(
                f"Redis URL {where} has a bad port; a port is a whole number from 1 to 65535."
            )
    if parts.scheme.startswith("valkey"):
        url = urlunsplit(parts._replace(scheme=parts.scheme.replace("valkey", "redis")))
    return url
