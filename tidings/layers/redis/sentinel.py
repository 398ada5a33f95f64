"""Following a Sentinel failover: ask the sentinels often, leave the old master at once.

redis-py's Sentinel client asks the sentinels only when it opens a connection, and a
connection to the old master keeps working after a failover: the old master stays
writable (measured: ~11 s after ``SENTINEL FAILOVER``) until the sentinels demote it,
and whatever is written there meanwhile is lost when it resyncs from the new master.
So every client of a Sentinel-managed master has a ``MasterWatch``: each time the
client is used it may start (at most every ``CHECK_EVERY`` seconds, never inline) a
background question to the sentinels; when they name another master, idle connections
are closed and busy ones are closed when their command ends (none is cut mid-command,
so no command is retried after it ran), and the next command connects to the new master.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

logger = logging.getLogger("tidings.redis")
CHECK_EVERY = 0.5  # seconds between questions to the sentinels, per client
ASK_TIMEOUT = 2.0  # a sentinel that does not answer in this long is skipped this round


class SentinelMaster(aioredis.Redis):
    """The master client made by ``Sentinel.master_for``; closing it also closes the
    connections to the sentinels (redis-py leaves them open)."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", ()):
            await sentinel.aclose()


class MasterWatch:
    """Keeps one Sentinel-managed client on the master the sentinels name."""

    def __init__(self, label: str, moved: Callable[[], None] | None = None) -> None:
        self.label = label
        self.moved = moved  # called (on the client's loop) after a move was followed
        self.next_check = 0.0
        self.task: asyncio.Task[bool] | None = None
        self.moves = 0  # failovers followed
        self._failing = False

    def poke(self, client: aioredis.Redis) -> None:
        """Start a check if one is due; never waits (a silent sentinel must not delay
        a call to a healthy master)."""
        now = time.monotonic()
        if now < self.next_check or (self.task is not None and not self.task.done()):
            return
        self.next_check = now + CHECK_EVERY
        self.task = asyncio.get_running_loop().create_task(
            self.check(client), name="tidings-sentinel"
        )

    async def check(self, client: aioredis.Redis) -> bool:
        """Ask the sentinels for the master; follow it if it moved. True if it moved."""
        pool: Any = client.connection_pool
        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                address = await pool.sentinel_manager.discover_master(pool.service_name)
        except Exception as exc:  # sentinels down or in the middle of a failover
            if not self._failing:
                self._failing = True
                logger.warning(
                    "tidings cannot ask the sentinels of %s for the master (%s); "
                    "staying on the current one",
                    self.label,
                    type(exc).__name__,
                )
            return False
        self._failing = False
        current = pool.master_address
        if current is None or tuple(address) == tuple(current):
            return False
        pool.master_address = address
        # Busy connections finish their command on the old master (cutting one would
        # make its command's outcome unknown), then close when released.
        for connection in list(pool._in_use_connections):
            connection.mark_for_reconnect()
        await pool.disconnect(inuse_connections=False)
        self.moves += 1
        logger.warning(
            "tidings: the sentinels of %s name a new master, %s:%s (was %s:%s); reconnecting",
            self.label,
            address[0],
            address[1],
            current[0],
            current[1],
        )
        if self.moved is not None:
            self.moved()
        return True
