"""The ``tidings worker`` processes ``tidings demo --job-workers N`` runs next to uvicorn."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child: SIGTERM when the demo process dies (uvicorn ends it by re-raising
    the SIGTERM it got, so no ``finally`` of ours runs). Linux only; elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def job_workers(count: int, url: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` workers on ``demo-ingest``; stop them gracefully (SIGTERM) after."""
    if count <= 0:
        yield []
        return
    os.environ["TIDINGS_DEMO_JOBS"] = "1"  # inherited by uvicorn's server processes
    command = [sys.executable, "-c", "from tidings.cli import main; raise SystemExit(main())"]
    command += ["worker", "tidings.demo.jobs:application", "demo-ingest", "--url", url]
    processes = [
        # Own session: a terminal's Ctrl-C stops the demo, whose exit then stops these.
        subprocess.Popen(command, preexec_fn=_stop_with_parent, start_new_session=True)
        for _ in range(count)
    ]
    print(
        f"  {count} tidings worker process(es) take POST /ingest jobs: pids "
        + ", ".join(str(p.pid) for p in processes)
    )
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
