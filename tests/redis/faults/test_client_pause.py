"""CLIENT PAUSE: Redis keeps every connection and answers nothing."""

from __future__ import annotations

import time

import pytest
import redis

from .stalls import STALL, calls_raise_within_timeout

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test


async def test_calls_during_client_pause_raise_within_timeout(own_redis):
    """Promise: with timeout=1, send/group_send/group_add/group_channels raise
    BackendUnavailable within ~1 s while Redis is paused, and work again after."""
    admin = redis.Redis(port=own_redis.port)
    paused: list[float] = []

    def stall() -> None:
        # CLIENT UNPAUSE would itself be paused: the pause ends by its own clock.
        admin.execute_command("CLIENT", "PAUSE", int(STALL * 1000), "ALL")
        paused.append(time.monotonic())

    def resume() -> None:
        time.sleep(max(0.0, paused[0] + STALL - time.monotonic()))

    await calls_raise_within_timeout(own_redis.url, stall, resume, "fpause")
    admin.close()
