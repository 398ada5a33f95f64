"""Sentinel- and Cluster-managed Redis in ``hosts``: parsed here, clients made here.

Accepted forms (the plain ones stay in ``hosts.py``):

- channels_redis's Sentinel dict, exactly::

      {"sentinels": [("10.0.0.1", 26379), ...], "master_name": "mymaster",
       "sentinel_kwargs": {"password": ...},   # for the sentinels (optional)
       "db": 0, "password": ..., ...}          # every other key: the master connections

- ``redis+sentinel://[[user]:password@]h1:26379[,h2:26379...]/mymaster[/db]`` and
  ``rediss+sentinel://...`` (TLS); ``?sentinel_password=...`` and ``?sentinel_username=...``
  authenticate to the sentinels, the userinfo to the master.
- ``redis+cluster://[[user]:password@]h1:7000[,h2:7001...]`` and ``rediss+cluster://...``:
  any reachable nodes; redis-py's ``RedisCluster`` discovers the rest.

Labels and reprs never show a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

from ...exceptions import ConfigurationError
from .redaction import encode_userinfo, redact, shape
from .sentinel import SentinelMaster

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
_SENTINEL_DEFAULT_PORT = 26379
_REDIS_DEFAULT_PORT = 6379
Address = tuple[str, int]


@dataclass(frozen=True, repr=False)
class SentinelHost:
    """A master found through sentinels."""

    sentinels: tuple[Address, ...]
    master_name: str
    options: Mapping[str, Any] = field(default_factory=dict)  # master connections
    sentinel_options: Mapping[str, Any] = field(default_factory=dict)  # the sentinels

    @property
    def label(self) -> str:
        nodes = ",".join(f"{h}:{p}" for h, p in self.sentinels)
        return f"sentinel://{nodes}/{self.master_name}/{self.options.get('db', 0)}"

    def __repr__(self) -> str:
        return f"SentinelHost({self.label!r})"

    def client(self, **defaults: Any) -> aioredis.Redis:
        """A client of the current master; it asks the sentinels again after a failover.

        ``defaults`` (timeouts, retry policy) apply to master and sentinel connections
        unless the configuration sets them.
        """
        sentinel_options = {k: v for k, v in defaults.items() if k.startswith("socket_")} | dict(
            self.sentinel_options
        )
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels), sentinel_kwargs=sentinel_options
        )
        client: aioredis.Redis = sentinel.master_for(
            self.master_name, redis_class=SentinelMaster, **(defaults | dict(self.options))
        )
        return client


@dataclass(frozen=True, repr=False)
class ClusterHost:
    """A Redis Cluster, reached through any of its nodes."""

    nodes: tuple[Address, ...]
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "cluster://" + ",".join(f"{h}:{p}" for h, p in self.nodes)

    def __repr__(self) -> str:
        return f"ClusterHost({self.label!r})"

    def client(self, **defaults: Any) -> RedisCluster:
        """A cluster client that follows MOVED/ASK and refreshes its slot map itself."""
        # The layer's retry (``defaults``: none in redis-py) is the only one: redis-py's
        # cluster client would otherwise re-send a command, or a whole pipeline, after a
        # connection error, when it may already have run. MOVED/ASK are still followed.
        options = defaults | dict(self.options)
        nodes = [ClusterNode(host, port) for host, port in self.nodes]
        return RedisCluster(startup_nodes=nodes, **options)


Deployment = SentinelHost | ClusterHost


def is_deployment(item: object) -> bool:
    """Whether ``item`` is a form this module parses (else ``hosts.py``'s forms)."""
    if isinstance(item, Mapping):
        return "master_name" in item or "sentinels" in item
    if isinstance(item, str):
        return _scheme(item) in SENTINEL_SCHEMES + CLUSTER_SCHEMES
    return False


def _scheme(url: str) -> str:
    """The scheme, read without parsing the rest (which may not parse: a raw password)."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


def _split(url: str) -> Any:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unbalanced '[' (read as an IPv6 address) after the '@'
        raise ConfigurationError(
            f"Cannot read {redact(url)!r}; percent-encode special characters in passwords."
        ) from None


def parse_deployment(item: object) -> Deployment:
    """Parse a Sentinel dict or a ``redis+sentinel://`` / ``redis+cluster://`` URL.

    Raises ``ConfigurationError`` naming the problem and the expected form.
    """
    if isinstance(item, Mapping):
        return _sentinel_from_dict(item)
    if isinstance(item, str):
        scheme = _scheme(item)
        if scheme in SENTINEL_SCHEMES:
            return _sentinel_from_url(item)
        if scheme in CLUSTER_SCHEMES:
            return _cluster_from_url(item)
    raise ConfigurationError(
        "Expected a Sentinel dict {'sentinels': [(host, port)], 'master_name': ...} or a "
        f"redis+sentinel:// or redis+cluster:// URL, got {_describe(item)}."
    )


def _sentinel_from_dict(item: Mapping[Any, Any]) -> SentinelHost:
    options = dict(item)
    sentinels = options.pop("sentinels", None)
    master_name = options.pop("master_name", None)
    sentinel_kwargs = options.pop("sentinel_kwargs", None) or {}
    if not isinstance(master_name, str) or not master_name:
        raise ConfigurationError(
            "A Sentinel host needs 'master_name', the name the sentinels monitor "
            f"(e.g. 'mymaster'); got {shape(master_name)}."
        )
    if isinstance(sentinels, (str, bytes)) or not isinstance(sentinels, (list, tuple)):
        raise ConfigurationError(
            "A Sentinel host needs 'sentinels', a list of (host, port) tuples, e.g. "
            f"[('10.0.0.1', 26379)]; got {type(sentinels).__name__}."
        )
    addresses = tuple(_address(entry, "sentinels") for entry in sentinels)
    if not addresses:
        raise ConfigurationError("'sentinels' is empty; list at least one (host, port).")
    if not isinstance(sentinel_kwargs, Mapping):
        raise ConfigurationError(
            "'sentinel_kwargs' must be a dict of options for the sentinel connections "
            f"(e.g. {{'password': ...}}); got {type(sentinel_kwargs).__name__}."
        )
    return SentinelHost(addresses, master_name, options, dict(sentinel_kwargs))


def _sentinel_from_url(url: str) -> SentinelHost:
    # The only query options are sentinel_*: split there, then percent-encode whatever in
    # the userinfo would break the URL's parsing (a password with '/', '?', '#' or '@').
    cut = url.rfind("?sentinel_")
    base, query = (url[:cut], url[cut + 1 :]) if cut >= 0 else (url, "")
    parts = _split(encode_userinfo(base))
    if query:
        parts = parts._replace(query=query if not parts.query else parts.query + "&" + query)
    addresses = _netloc_addresses(parts.netloc, _SENTINEL_DEFAULT_PORT, url)
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ConfigurationError(
            f"Sentinel URL {redact(url)!r} must name the master: "
            "redis+sentinel://host:26379[,host2:26379]/mymaster[/db]."
        )
    options: dict[str, Any] = _credentials(parts)
    if len(path) == 2:
        options["db"] = _db(path[1], url)
    sentinel_options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query):
        if key == "sentinel_password":
            sentinel_options["password"] = value
        elif key == "sentinel_username":
            sentinel_options["username"] = value
        else:
            raise ConfigurationError(  # not named: a stray '&' may split a password
                f"Sentinel URL {redact(url)!r} has an option other than sentinel_password "
                "and sentinel_username; use the dict form for other options."
            )
    if parts.scheme.startswith("rediss"):
        options["ssl"] = True
        sentinel_options["ssl"] = True
    return SentinelHost(addresses, unquote(path[0]), options, sentinel_options)


def _cluster_from_url(url: str) -> ClusterHost:
    parts = _split(encode_userinfo(url))
    addresses = _netloc_addresses(parts.netloc, _REDIS_DEFAULT_PORT, url)
    path = [p for p in parts.path.split("/") if p]
    if path and (len(path) > 1 or _db(path[0], url) != 0):
        raise ConfigurationError(
            f"Cluster URL {redact(url)!r} names a database; a Redis Cluster has only db 0."
        )
    if parts.query:
        raise ConfigurationError(
            f"Cluster URL {redact(url)!r} has options; use the hosts dict form for options."
        )
    options = _credentials(parts)
    if parts.scheme.startswith("rediss"):
        options["ssl"] = True
    return ClusterHost(addresses, options)


def _netloc_addresses(netloc: str, default_port: int, url: str) -> tuple[Address, ...]:
    hosts = netloc.rpartition("@")[2]
    addresses = []
    for part in hosts.split(","):
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        host = host or "localhost"
        if port and not port.isdigit():
            raise ConfigurationError(f"Port {port!r} in {redact(url)!r} is not a number.")
        addresses.append((host, int(port) if port else default_port))
    if not hosts:
        raise ConfigurationError(f"URL {redact(url)!r} lists no host.")
    return tuple(addresses)


def _credentials(parts: Any) -> dict[str, Any]:
    userinfo = parts.netloc.rpartition("@")[0]
    if not userinfo:
        return {}
    user, _, password = userinfo.partition(":")
    options: dict[str, Any] = {}
    if user:
        options["username"] = unquote(user)
    if password:
        options["password"] = unquote(password)
    return options


def _db(text: str, url: str) -> int:
    if not text.isdigit():
        raise ConfigurationError(f"Database {text!r} in {redact(url)!r} is not a number.")
    return int(text)


def _address(entry: object, what: str) -> Address:
    if (
        isinstance(entry, (tuple, list))
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], int)
        and not isinstance(entry[1], bool)
    ):
        return (entry[0], entry[1])
    raise ConfigurationError(
        f"Each of {what!r} must be a (host, port) tuple like ('10.0.0.1', 26379); "
        f"got {shape(entry)}."  # never the entry itself: it may hold a password
    )


def _describe(item: object) -> str:
    if isinstance(item, str):
        return repr(redact(item))
    return type(item).__name__
