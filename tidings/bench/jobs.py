"""Job queue end to end: ``tidings worker`` processes against Channels' ``runworker``.

The queue is filled first, then ``workers`` worker processes drain it; the rate is jobs
finished per second between the first and the last finished job (process start-up is
not counted). Every job's handler logs its id (``jobs_app.py``), so duplicates and
losses are counted from what actually ran. The SIGKILL variant starts the workers, then
sends 10 ms jobs, kills one worker a third of the way through, starts a replacement and
counts what never ran.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .jobs_app import CHANNEL
from .peers import PeerMissing, make_redis_layer
from .results import Outcome

CONTENDERS = {  # name: (label, layer the queue is filled with)
    "tidings": ("tidings worker", "tidings"),
    "runworker-core": ("Channels runworker + channels_redis core", "core"),
    "runworker-tidings": ("Channels runworker + tidings RedisChannelLayer", "tidings"),
}
STARTUP = 60.0  # seconds a worker process may take to handle its first job
_ROOT = Path(__file__).resolve().parents[2]


def _worker(
    contender: str, url: str, prefix: str, capacity: int, logs: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TIDINGS_BENCH_JOBS_DIR": str(logs),
    }
    env.pop("TIDINGS_URL", None)
    if contender == "tidings":
        command = [sys.executable, "-c", "from tidings.cli import main; raise SystemExit(main())"]
        command += [
            "worker",
            "tidings.bench.jobs_app:application",
            CHANNEL,
            "--log-level",
            "INFO",  # "Worker pid ..." tells the bench it started
        ]
        command += ["--url", f"{url}?prefix={prefix}&capacity={capacity}&expiry=600"]
    else:
        try:
            import channels  # noqa: F401
            import django  # noqa: F401
        except ImportError as exc:
            raise PeerMissing(f"runworker needs {exc.name}: pip install 'tidings[bench]'") from None
        command = [sys.executable, "-m", "django", "runworker", CHANNEL]
        env |= {
            "DJANGO_SETTINGS_MODULE": "tidings.bench.jobs_django",
            "TIDINGS_BENCH_LAYER": CONTENDERS[contender][1],
            "TIDINGS_BENCH_REDIS": url,
            "TIDINGS_BENCH_PREFIX": prefix,
            "TIDINGS_BENCH_CAPACITY": str(capacity),
        }
    errors = open(logs / f"stderr-{secrets.token_hex(3)}.txt", "wb")  # noqa: SIM115
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)


READY = ("Worker pid", "Running worker for channels")


async def _until_ready(logs: Path, processes: int) -> None:
    """Until every worker process logged that it runs (bounded by STARTUP)."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if _started(logs) >= processes:
            await asyncio.sleep(0.3)  # from the log line to the first receive
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"job-queue workers did not start in {STARTUP:g}s: see {logs}")


def _started(logs: Path) -> int:
    texts = [p.read_text(errors="replace") for p in logs.glob("stderr-*.txt")]
    return sum(any(mark in text for mark in READY) for text in texts)


def _finished(logs: Path) -> list[tuple[int, float]]:
    out = []
    for path in logs.glob("*.log"):
        for line in path.read_text().splitlines():
            i, t = line.split()
            out.append((int(i), float(t)))
    return out


async def _until_idle(logs: Path, jobs: int, idle: float, after: int = 0) -> None:
    """Until every job ran, or nothing ran for ``idle`` s (after a start-up bound)."""
    seen, still = -1, time.monotonic() + STARTUP
    while True:
        now = len(_finished(logs))
        if now >= jobs:
            await asyncio.sleep(0.3)  # a duplicate, if any, lands now
            return
        if now != seen and now > after:
            seen, still = now, time.monotonic() + idle
        if time.monotonic() > still:
            return
        await asyncio.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def _fill(contender: str, url: str, prefix: str, jobs: int, sleep: float) -> None:
    layer = make_redis_layer(CONTENDERS[contender][1], url, prefix, capacity=jobs + 10, expiry=600)
    try:
        job: dict[str, object] = {"type": "bench.job"}
        if sleep:
            job["sleep"] = sleep
        for i in range(jobs):
            await layer.send(CHANNEL, {**job, "i": i})
    finally:
        close = getattr(layer, "close_pools", None) or layer.close
        await close()


async def job_queue(
    contender: str, url: str, jobs: int, workers: int = 2, kill: bool = False
) -> Outcome:
    """``jobs`` jobs through ``workers`` worker processes of ``contender``."""
    label = CONTENDERS[contender][0]
    prefix = f"bj{secrets.token_hex(3)}"
    idle = float(os.environ.get("TIDINGS_BENCH_IDLE", "3"))
    sleep = 0.01 if kill else 0.0
    if not kill:  # a backlog: the rate is how fast workers drain it
        await _fill(contender, url, prefix, jobs, sleep)
    with tempfile.TemporaryDirectory(prefix="tidings-jobs-") as tmp:
        logs = Path(tmp)
        processes = [_worker(contender, url, prefix, jobs + 10, logs) for _ in range(workers)]
        try:
            if kill:  # every worker is taking jobs before they come
                await _until_ready(logs, workers)
                await _fill(contender, url, prefix, jobs, sleep)
                await _until_idle(logs, jobs // 3, idle)
                processes[0].kill()
                processes[0].wait(10)
                processes.append(_worker(contender, url, prefix, jobs + 10, logs))
            await _until_idle(logs, jobs, idle, after=len(_finished(logs)) if kill else 0)
        finally:
            for process in processes:
                _stop(process)
        done = _finished(logs)
    ids = [i for i, _ in done]
    times = sorted(t for _, t in done)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    unique = len(set(ids))
    return Outcome(
        "job queue, SIGKILL 1 worker" if kill else "job queue",
        label,
        workers,
        (unique - 1) / span if span else 0.0,  # distinct jobs: a rerun is no progress
        "jobs/s",
        jobs,
        unique,
        len(ids) - unique,
        note="10 ms jobs; one worker killed at 1/3" if kill else "",
    )
