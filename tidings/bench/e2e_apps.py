"""The two servers of the end-to-end scenario, as uvicorn factories.

Both do the same: every WebSocket joins group "e2e" and forwards each ``bench.tick``
event's ``body`` to its client. One is tidings consumers on RedisChannelLayer; the other
is Django Channels' consumer on channels_redis, under the same uvicorn.
"""

from __future__ import annotations

import os
from typing import Any

from ..types import ASGIApp


def tidings_app() -> ASGIApp:
    """tidings consumers; the layer comes from ``TIDINGS_URL``."""
    from ..consumers import AsyncWebsocketConsumer
    from ..routing import ProtocolTypeRouter, URLRouter, path

    class BenchConsumer(AsyncWebsocketConsumer):
        groups = ["e2e"]  # noqa: RUF012 - Channels' API

        async def bench_tick(self, event: dict[str, Any]) -> None:
            await self.send(text_data=event["body"])

    return ProtocolTypeRouter({"websocket": URLRouter([path("ws/", BenchConsumer.as_asgi())])})


def django_app() -> Any:
    """Django Channels + channels_redis core, configured from ``TIDINGS_BENCH_REDIS``."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="bench",
            INSTALLED_APPS=["channels"],
            CHANNEL_LAYERS={
                "default": {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {
                        "hosts": [os.environ["TIDINGS_BENCH_REDIS"]],
                        "prefix": os.environ.get("TIDINGS_BENCH_PREFIX", "asgi"),
                        "capacity": 1000,
                    },
                }
            },
        )
        django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    class BenchConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
        groups = ["e2e"]  # noqa: RUF012 - Channels' API

        async def bench_tick(self, event: dict[str, Any]) -> None:
            await self.send(text_data=event["body"])

    return ProtocolTypeRouter({"websocket": URLRouter([path("ws/", BenchConsumer.as_asgi())])})
