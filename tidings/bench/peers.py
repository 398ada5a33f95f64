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


async def forget_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (the bench's own, random): ``bench --redis URL``
    must leave nothing behind in the user's Redis, not even keys a flush keeps
    (tidings' epoch) or that a killed worker wrote last. On a Cluster (``redis+cluster://``)
    every master is scanned."""
    import redis.asyncio as aioredis

    from ..layers.redis.deployments import ClusterHost, is_deployment, parse_deployment
    from ..rules.patterns import escape_glob

    match = escape_glob(prefix) + "*"
    deployment = parse_deployment(url) if is_deployment(url) else None
    if isinstance(deployment, ClusterHost):
        cluster = deployment.client()
        try:  # redis-py's cluster SCAN visits every master
            batch = [key async for key in cluster.scan_iter(match=match, count=1000)]
            for key in batch:  # one key per call: a cluster refuses a cross-slot UNLINK
                await cluster.unlink(key)
        finally:
            await cluster.aclose()
        return
    client = aioredis.Redis.from_url(url)
    try:
        batch = [key async for key in client.scan_iter(match=match, count=1000)]
        for start in range(0, len(batch), 500):
            await client.unlink(*batch[start : start + 500])
    finally:
        await client.aclose()
