"""The app the worker tests run under ``tidings worker tests.workers.jobs_app:application``.

Every handler appends ``start <id> <pid>`` and ``done <id> <pid>`` lines to the file named
by ``$JOBS_LOG`` (small O_APPEND writes: whole lines, even from several processes).
"""

import asyncio
import os
import time

from tidings.consumers import AsyncConsumer, SyncConsumer
from tidings.routing import ChannelNameRouter, ProtocolTypeRouter


def record(what: str, job_id: object) -> None:
    with open(os.environ["JOBS_LOG"], "a") as log:
        log.write(f"{what} {job_id} {os.getpid()}\n")


class AsyncJobs(AsyncConsumer):
    async def job_run(self, event):
        record("start", event["id"])
        await asyncio.sleep(event.get("sleep", 0))
        if event.get("fail"):
            raise RuntimeError(f"job {event['id']} failed on purpose")
        record("done", event["id"])


class SyncJobs(SyncConsumer):
    def job_run(self, event):
        record("start", event["id"])
        time.sleep(event.get("sleep", 0))
        if event.get("fail"):
            raise RuntimeError(f"job {event['id']} failed on purpose")
        record("done", event["id"])


application = ProtocolTypeRouter(
    {"channel": ChannelNameRouter({"jobs": AsyncJobs.as_asgi(), "sjobs": SyncJobs.as_asgi()})}
)
