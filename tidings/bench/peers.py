"""The layers benchmarks compare, built by name; a missing one is reported as skipped."""

from __future__ import annotations

from typing import Any

REDIS_LAYERS = {
    "tidings": "tidings RedisChannelLayer",
    "core": "channels_redis core",
    "pubsub": "channels_redis pubsub",
}


class PeerMissing(Exception):
    """Raised when a peer layer's package is not installed."""


def make_redis_layer(kind: str, url: str, prefix: str, **options: Any) -> Any:
    """A layer of ``kind`` (tidings, core, pubsub) on the Redis at ``url``."""
    if kind == "tidings":
        from ..layers.redis import RedisChannelLayer

        return RedisChannelLayer(hosts=[url], prefix=prefix, **options)
    try:
        if kind == "core":
            from channels_redis.core import RedisChannelLayer as CoreLayer

            return CoreLayer(hosts=[url], prefix=prefix, **options)
        if kind == "pubsub":
            from channels_redis.pubsub import RedisPubSubChannelLayer

            return RedisPubSubChannelLayer(hosts=[url], prefix=prefix, **options)
    except ImportError as exc:
        raise PeerMissing(
            f"{REDIS_LAYERS[kind]} needs {exc.name}: pip install 'tidings[bench]'"
        ) from None

    raise ValueError(f"unknown layer {kind!r}; choose from {', '.join(REDIS_LAYERS)}")
