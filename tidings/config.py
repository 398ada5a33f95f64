"""Choosing and building a layer: Django's ``CHANNEL_LAYERS``, else ``TIDINGS_URL``.

``get_channel_layer()`` returns one layer per alias for the life of the process.
With Django settings configured it reads ``CHANNEL_LAYERS`` (through Channels when
installed, so consumers and views share the same layer object); otherwise it
builds the layer named by the ``TIDINGS_URL`` environment variable, ``memory://``
by default, e.g. ``memory://?capacity=200`` or ``redis://localhost:6379/0?prefix=app``.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from .exceptions import ConfigurationError, MissingDependency
from .layers.base import BaseChannelLayer
from .rules.options import SCHEMAS, parse_query

DEFAULT_URL = "memory://"
BACKENDS = {
    "memory": "tidings.layers.memory:MemoryChannelLayer",
    "redis": "tidings.layers.redis:RedisChannelLayer",
    "rediss": "tidings.layers.redis:RedisChannelLayer",
    "redis+sentinel": "tidings.layers.redis:RedisChannelLayer",
    "rediss+sentinel": "tidings.layers.redis:RedisChannelLayer",
    "redis+cluster": "tidings.layers.redis:RedisChannelLayer",
    "rediss+cluster": "tidings.layers.redis:RedisChannelLayer",
}
_EXTRAS = {"redis": "redis", "msgpack": "tidings", "cryptography": "crypto"}
_layers: dict[str, BaseChannelLayer] = {}
_lock = threading.Lock()


def get_channel_layer(alias: str = "default") -> BaseChannelLayer:
    """The process-wide layer for ``alias`` (Django's ``CHANNEL_LAYERS`` or ``TIDINGS_URL``).

    Always a tidings layer: if Django's ``CHANNEL_LAYERS`` names another backend for
    ``alias``, a ``ConfigurationError`` says so (``channels.layers.get_channel_layer``
    returns any backend)."""
    layer = any_channel_layer(alias)
    if not isinstance(layer, BaseChannelLayer):
        kind = f"{type(layer).__module__}.{type(layer).__qualname__}"
        raise ConfigurationError(
            f"CHANNEL_LAYERS[{alias!r}] is a {kind}, not a tidings layer; set its BACKEND to "
            "'tidings.RedisChannelLayer' or 'tidings.MemoryChannelLayer' (or use Channels' "
            "get_channel_layer for other backends)."
        )
    return layer


def any_channel_layer(alias: str = "default") -> Any:
    """The layer for ``alias`` whatever library it comes from: tidings' consumers, like
    Channels' own, run on any Channels-compatible layer Django's settings name."""
    django_layers = _django_channel_layers()
    if django_layers is not None:
        return _from_django(alias, django_layers)
    with _lock:
        layer = _layers.get(alias)
        if layer is None:
            url = os.environ.get("TIDINGS_URL", DEFAULT_URL) if alias == "default" else None
            if url is None:
                raise ConfigurationError(
                    f"No channel layer named {alias!r}: without Django settings only "
                    "'default' exists (set by TIDINGS_URL)."
                )
            layer = _layers[alias] = layer_from_url(url)
        return layer


def reset_channel_layers() -> None:
    """Forget the layers ``get_channel_layer`` built (tests and reconfiguration)."""
    with _lock:
        _layers.clear()


def layer_from_url(url: str, **overrides: Any) -> BaseChannelLayer:
    """Build a layer from ``memory://?option=value`` or ``redis://host:port/db?option=value``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS:
        raise ConfigurationError(
            f"Unknown channel layer URL scheme {parts.scheme!r} in TIDINGS_URL; use one of "
            + ", ".join(f"{s}://" for s in BACKENDS)
            + "."
        )
    cls = import_backend(BACKENDS[scheme])
    # Text is converted by each option's declared type (?prefix=2024 stays a str);
    # the constructor then checks every value and rejects unknown options.
    schema = SCHEMAS["memory" if scheme == "memory" else "redis"]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    # A Sentinel URL's sentinel_* options are the host's (its sentinels' credentials).
    host_query = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs if k.startswith("sentinel_"))
    pairs = [(k, v) for k, v in pairs if not k.startswith("sentinel_")]
    options: dict[str, Any] = parse_query(schema, pairs, f"{cls.__name__} (in the URL)")
    options.update(overrides)
    if scheme != "memory":
        host = url.split("?", 1)[0] + (f"?{host_query}" if host_query else "")
        options.setdefault("hosts", [host])
    return build_layer(cls, options)


def build_layer(cls: type[BaseChannelLayer], options: dict[str, Any]) -> BaseChannelLayer:
    """Instantiate ``cls`` with ``options``; its constructor checks them all
    (an unknown option or a bad value is a ``ConfigurationError``)."""
    return cls(**options)


def import_backend(path: str) -> type[BaseChannelLayer]:
    """Import ``module:Class``, turning a missing optional package into a clear error."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and not missing.startswith("tidings"):
            extra = _EXTRAS.get(missing, missing)
            raise MissingDependency(
                f"{attr} needs the {missing!r} package; install it with "
                f"pip install 'tidings[{extra}]'."
            ) from exc
        raise
    cls: type[BaseChannelLayer] = getattr(module, attr)
    return cls


def _django_channel_layers() -> dict[str, Any] | None:
    """Django's ``CHANNEL_LAYERS`` if Django is installed and configured, else None."""
    try:
        from django.conf import settings
    except ImportError:
        return None
    if not settings.configured:
        return None
    layers = getattr(settings, "CHANNEL_LAYERS", None)
    return layers if isinstance(layers, dict) else None


def _from_django(alias: str, django_layers: dict[str, Any]) -> Any:
    try:
        from channels.layers import channel_layers
    except ImportError:
        channel_layers = None
    if channel_layers is not None:  # share Channels' instance with its consumers
        if alias not in django_layers:
            raise ConfigurationError(
                f"CHANNEL_LAYERS has no {alias!r} entry; add one, e.g. "
                '{"default": {"BACKEND": "tidings.MemoryChannelLayer"}}.'
            )
        return channel_layers[alias]
    with _lock:
        layer = _layers.get(alias)
        if layer is None:
            entry = django_layers.get(alias)
            if not isinstance(entry, dict) or "BACKEND" not in entry:
                raise ConfigurationError(
                    f"CHANNEL_LAYERS[{alias!r}] needs a BACKEND such as "
                    "'tidings.MemoryChannelLayer'."
                )
            backend = entry["BACKEND"]
            module, _, attr = backend.rpartition(".")
            cls = import_backend(f"{module}:{attr}")
            layer = _layers[alias] = build_layer(cls, dict(entry.get("CONFIG") or {}))
        return layer
