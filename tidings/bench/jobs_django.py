"""Django settings and a Channels app for ``runworker`` in the job-queue benchmark.

``DJANGO_SETTINGS_MODULE=tidings.bench.jobs_django django-admin runworker bench-jobs``
with ``TIDINGS_BENCH_LAYER`` (``core``: channels_redis; ``tidings``: tidings' layer),
``TIDINGS_BENCH_REDIS``, ``TIDINGS_BENCH_PREFIX`` and ``TIDINGS_BENCH_CAPACITY`` set.
"""

from __future__ import annotations

import os
from typing import Any

from channels.consumer import AsyncConsumer
from channels.routing import ChannelNameRouter, ProtocolTypeRouter

from .jobs_app import CHANNEL, run_job

_BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "tidings": "tidings.RedisChannelLayer",
}
SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["channels"]
ASGI_APPLICATION = "tidings.bench.jobs_django.application"
LOGGING = {  # "Running worker for channels ..." on stderr tells the bench it started
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.channels.worker": {"handlers": ["stderr"], "level": "INFO"}},
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _BACKENDS[os.environ.get("TIDINGS_BENCH_LAYER", "core")],
        "CONFIG": {
            "hosts": [os.environ.get("TIDINGS_BENCH_REDIS", "redis://127.0.0.1:6379/0")],
            "prefix": os.environ.get("TIDINGS_BENCH_PREFIX", "asgi"),
            "capacity": int(os.environ.get("TIDINGS_BENCH_CAPACITY", "100")),
            "expiry": 600,
        },
    }
}


class ChannelsBenchJobs(AsyncConsumer):  # type: ignore[misc]
    """Channels' own AsyncConsumer, the same handler."""

    async def bench_job(self, event: dict[str, Any]) -> None:
        await run_job(event)


application = ProtocolTypeRouter(
    {"channel": ChannelNameRouter({CHANNEL: ChannelsBenchJobs.as_asgi()})}
)
