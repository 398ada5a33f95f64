"""The job handlers ``tidings bench``'s job-queue scenario runs in worker processes.

Each job appends ``<id> <time>`` to ``$TIDINGS_BENCH_JOBS_DIR/<pid>.log`` with one
unbuffered ``write`` (so a SIGKILL loses no line of a finished job), then sleeps
``job["sleep"]`` seconds if given. ``application`` is for ``tidings worker``;
``tidings.bench.jobs_django`` holds the same handler for Channels' ``runworker``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from ..consumers import AsyncConsumer
from ..routing import ChannelNameRouter

CHANNEL = "bench-jobs"
_fd: int | None = None


def record(job: dict[str, Any]) -> None:
    """Append the job's id and the time it finished to this process's log."""
    global _fd
    if _fd is None:
        path = os.path.join(os.environ["TIDINGS_BENCH_JOBS_DIR"], f"{os.getpid()}.log")
        _fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(_fd, f"{job['i']} {time.time()}\n".encode())


async def run_job(job: dict[str, Any]) -> None:
    if job.get("sleep"):
        await asyncio.sleep(job["sleep"])
    record(job)


class BenchJobs(AsyncConsumer):
    """tidings' AsyncConsumer: one job per call."""

    async def bench_job(self, event: dict[str, Any]) -> None:
        await run_job(event)


application = ChannelNameRouter({CHANNEL: BenchJobs.as_asgi()})
