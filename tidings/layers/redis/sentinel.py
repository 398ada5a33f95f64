"""Following a Sentinel failover: ask the sentinels often, leave the old master at once,
and hand over what was left on it.

redis-py's Sentinel client asks the sentinels only when it opens a connection, and a
connection to the old master keeps working after a failover: the old master stays
writable (measured: ~11 s after ``SENTINEL FAILOVER``) until the sentinels demote it,
and whatever is written there meanwhile is lost when it resyncs from the new master.
So every client of a Sentinel-managed master has a ``MasterWatch``: each time the
client is used it may start (at most every ``CHECK_EVERY`` seconds, never inline) a
background question to the sentinels; when they name another master, idle connections
are closed and busy ones are closed when their command ends (none is cut mid-command,
so no command is retried after it ran), and the next command connects to the new master.

Processes notice the move at slightly different moments (up to ``CHECK_EVERY`` apart), and
in between the two masters disagree: a sender still on the old master writes entries the
new one never gets, and a reader still on the old master pops entries that the new one
also has (written before the promotion; the pop is not replicated). So each process's
mailbox reader keeps a ``Handover``: it remembers a digest of what it delivered lately, and
after a move it drains its mailbox on the old master for ``DRAIN_FOR`` seconds; while that
lasts, an entry already delivered (from either master) is skipped, not delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import redis.asyncio as aioredis

logger = logging.getLogger("tidings.redis")
CHECK_EVERY = 0.5  # seconds between questions to the sentinels, per client
ASK_TIMEOUT = 2.0  # a sentinel that does not answer in this long is skipped this round
# How long a reader also drains its mailbox on the old master after a move: the old master
# stays writable until the sentinels demote it (measured ~11 s after SENTINEL FAILOVER),
# and a sender that was idle may write there once more; the drain ends sooner when the
# old master refuses (demoted: READONLY) or is gone.
DRAIN_FOR = 15.0
REMEMBER_FOR = 5.0  # seconds an entry's digest is kept (covers promotion → noticing it)
REMEMBER_AT_MOST = 100_000  # digests kept at most (bounded memory at any rate)
Address = tuple[str, int]


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

    def __init__(self, label: str, moved: Callable[[Address], None] | None = None) -> None:
        self.label = label
        self.moved = moved  # called with the old address (on the client's loop) after a move
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
            self.moved((current[0], int(current[1])))
        return True


class Handover:
    """One mailbox reader's side of a failover: skip what was delivered already, and drain
    what senders left on the old master before they noticed the move."""

    def __init__(self, label: str, key: str, options: Mapping[str, Any]) -> None:
        self.label = label
        self.key = key  # the mailbox stream
        self.options = options  # how to reach a server of this deployment (no address)
        self._seen: dict[int, float] = {}  # digest -> when delivered, oldest first
        self.until = 0.0  # repeats are skipped until then (monotonic)
        self.repeats = 0  # entries skipped because they were delivered already
        self.drained = 0  # entries taken from an old master after a move
        self.draining = False

    def fresh(self, entries: list[bytes]) -> list[bytes]:
        """``entries`` minus the ones delivered lately (only right after a move: outside
        one, two equal entries are two messages); remembers them all."""
        now = time.monotonic()
        seen = self._seen
        while seen and (
            len(seen) > REMEMBER_AT_MOST or next(iter(seen.values())) < now - REMEMBER_FOR
        ):
            del seen[next(iter(seen))]
        checking = now < self.until
        kept = []
        for entry in entries:
            digest = hash(entry)
            if checking and digest in seen:
                self.repeats += 1
                continue
            seen[digest] = now
            kept.append(entry)
        return kept

    def moved(
        self, old: Address, deliver: Callable[[list[bytes]], object], after: bytes = b"0-0"
    ) -> Coroutine[Any, Any, None] | None:
        """The master moved away from ``old``: skip repeats for a while; returns the
        drain of the mailbox left on ``old`` (entries after stream id ``after``, the last
        one the reader delivered) into ``deliver`` (None if one is running)."""
        self.until = time.monotonic() + DRAIN_FOR + REMEMBER_FOR
        if self.draining:
            return None
        self.draining = True
        return self._drain(old, deliver, after)

    async def _drain(
        self, old: Address, deliver: Callable[[list[bytes]], object], after: bytes
    ) -> None:
        client = aioredis.Redis(host=old[0], port=old[1], **self.options)
        until = time.monotonic() + DRAIN_FOR
        try:
            while time.monotonic() < until:
                async with asyncio.timeout(ASK_TIMEOUT):
                    reply = await client.execute_command(  # type: ignore[no-untyped-call]
                        "XREAD", "COUNT", 512, "BLOCK", 200, "STREAMS", self.key, after
                    )
                if reply:
                    items = _stream_items(reply)
                    after = items[-1][0]
                    self.drained += len(items)
                    deliver([_value(fields) for _, fields in items])
        except Exception as exc:  # gone, demoted (READONLY) or silent: nothing more there
            logger.info("tidings stopped draining the old master of %s: %s", self.label, exc)
        finally:
            self.draining = False
            with contextlib.suppress(Exception):
                await client.aclose()


def _stream_items(reply: Any) -> list[Any]:
    """XREAD's entries of one stream, whether redis-py answered as a dict or a list."""
    if isinstance(reply, dict):
        return list(next(iter(reply.values()))[0])
    return list(reply[0][1])


def _value(fields: Any) -> bytes:
    """The entry of one stream item (redis-py hands its fields over as a dict)."""
    return bytes(fields[b"e"] if isinstance(fields, dict) else fields[1])
