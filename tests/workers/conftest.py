"""Worker processes (``tidings worker``) on the session's redis-server, and their job log."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tidings.layers.redis import RedisChannelLayer

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.workers.jobs_app:application"


class WorkerProcess:
    """One ``tidings worker`` OS process; its stderr (the log) is collected as it comes."""

    def __init__(self, url: str, log: Path, *channels: str, concurrency: int = 1) -> None:
        command = [sys.executable, "-c", "from tidings.cli import main; raise SystemExit(main())"]
        command += ["worker", APP, *channels, "--url", url, "--concurrency", str(concurrency)]
        env = {**os.environ, "JOBS_LOG": str(log), "PYTHONPATH": str(ROOT)}
        env.pop("TIDINGS_URL", None)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, text: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log:
            if self.process.poll() is not None:
                self._reader.join(2)
                if text in self.log:
                    return
                raise AssertionError(f"worker exited ({self.process.returncode}):\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in {seconds}s:\n{self.log}")
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, seconds: float = 30) -> int:
        code = self.process.wait(seconds)
        self._reader.join(5)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class JobLog:
    """The ``start``/``done`` lines the test app's handlers write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def entries(self, what: str) -> list[tuple[int, int]]:
        out = []
        for line in self.path.read_text().splitlines():
            kind, job, pid = line.split()
            if kind == what:
                out.append((int(job), int(pid)))
        return out

    def ids(self, what: str) -> list[int]:
        return [job for job, _ in self.entries(what)]

    def counts(self, what: str) -> collections.Counter[int]:
        return collections.Counter(self.ids(what))

    def wait_for(self, what: str, count: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while len(self.ids(what)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.ids(what))} of {count} {what!r} lines")
            time.sleep(0.05)


@pytest.fixture
def job_log(tmp_path: Path) -> JobLog:
    return JobLog(tmp_path / "jobs.log")


@pytest.fixture
def workers(redis_server: Any, job_log: JobLog, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``workers(*channels, concurrency=1)`` starts a worker process (stopped after)."""
    started: list[WorkerProcess] = []
    url = redis_server.url + f"?prefix=w{os.getpid()}x{abs(hash(request.node.name)) % 10**6}"

    def start(*channels: str, concurrency: int = 1) -> WorkerProcess:
        worker = WorkerProcess(url, job_log.path, *channels, concurrency=concurrency)
        started.append(worker)
        worker.wait_for_log("Worker pid")
        return worker

    start.url = url  # type: ignore[attr-defined]
    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
async def producer(workers: Any) -> Any:
    """A layer on the workers' Redis and prefix, to send jobs and look at queues."""
    from tidings.config import layer_from_url

    layer = layer_from_url(workers.url, capacity=10_000)
    assert isinstance(layer, RedisChannelLayer)
    yield layer
    await layer.flush()
    await layer.close()


async def queued(layer: RedisChannelLayer, channel: str) -> int:
    """How many jobs wait in Redis on ``channel``."""
    client = layer.connections.client(0)
    return int(await client.llen(layer.keys.channel(channel)))
