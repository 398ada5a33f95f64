"""SIGSTOP of redis-server: the kernel still accepts connections and bytes; nothing answers."""

from __future__ import annotations

import os
import signal

import pytest

from .stalls import calls_raise_within_timeout

pytestmark = pytest.mark.slow  # seconds of real fault time; still run by ./scripts/test


async def test_calls_while_redis_is_stopped_raise_within_timeout(own_redis):
    """Promise: calls raise BackendUnavailable within timeout while Redis is
    SIGSTOPped; after SIGCONT the same layers deliver again."""
    pid = own_redis.process.pid
    await calls_raise_within_timeout(
        own_redis.url,
        lambda: os.kill(pid, signal.SIGSTOP),
        lambda: os.kill(pid, signal.SIGCONT),
        "fstop",
    )
