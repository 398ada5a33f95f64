"""What every fault test shares: its own redis-server, and the promise that no fault
ever ends in an unretrieved task exception (the session already fails on unraisable
exceptions and RuntimeWarnings)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from ...servers import RedisServer, start_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone: the test may stop, pause, fill or kill it."""
    server = start_redis()
    yield server
    if server.process is not None and server.process.poll() is None:
        import os
        import signal

        os.kill(server.process.pid, signal.SIGCONT)  # a test that failed mid-SIGSTOP
    server.stop()


@pytest.fixture(autouse=True)
def no_unretrieved_task_exceptions(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A fault must never leave "Task exception was never retrieved" behind."""
    caplog.set_level(logging.WARNING)
    yield
    bad = [
        r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR
    ]
    assert not bad, bad[:3]


async def eventually(
    check: Callable[[], Awaitable[Any]], seconds: float, what: str, every: float = 0.05
) -> float:
    """Wait until ``check()`` is truthy; returns how long it took (fails after ``seconds``)."""
    started = time.monotonic()
    while True:
        try:
            if await check():
                return time.monotonic() - started
        except Exception:
            pass
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what} did not happen within {seconds}s")
        await asyncio.sleep(every)


def tidings_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("tidings") and text in r.getMessage()
    ]
