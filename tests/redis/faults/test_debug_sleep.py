"""DEBUG SLEEP: Redis's one thread is busy and answers nothing."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from ...servers import start_redis
from .stalls import STALL, calls_raise_within_timeout

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test


@pytest.fixture
def debug_redis():
    server = start_redis("--enable-debug-command", "local")
    yield server
    server.stop()


async def test_calls_during_debug_sleep_raise_within_timeout(debug_redis):
    """Promise: calls raise BackendUnavailable within timeout while Redis sleeps,
    and the layer works again once it wakes."""
    sleeper: list[threading.Thread] = []

    def stall() -> None:
        admin = redis.Redis(port=debug_redis.port)
        thread = threading.Thread(target=admin.execute_command, args=("DEBUG", "SLEEP", STALL))
        thread.start()
        sleeper.append(thread)
        time.sleep(0.2)  # let the DEBUG SLEEP reach Redis first

    def resume() -> None:
        sleeper[0].join(30)

    await calls_raise_within_timeout(debug_redis.url, stall, resume, "fsleep")
