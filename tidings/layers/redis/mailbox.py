"""This process's mailbox on one host: one reader task drains it into the local hub.

A mailbox is a Redis STREAM (one field, ``e``: the entry's bytes, ``entry.py``).
``MailboxReader`` owns, per host: the drain loop, the heartbeat that tells other processes
this one is alive (and keeps the mailbox in existence), the Redis clock offset, the data
epoch (did Redis lose its data?) and the outage/reconnect bookkeeping. It parses each entry
once (``entry.parse``), decodes each payload once (``decode``) and hands direct messages to
their channel's inbox and group messages to ``hub.fan_out`` for all local members; control
entries go to ``Memberships.apply``.

Acknowledged reads: each round trip is one pipelined write of ``XTRIM key MINID <after the
last dispatched id>`` (what was delivered goes) and ``XREAD COUNT 512 BLOCK ... STREAMS key
<last dispatched id>``. An entry leaves Redis only after it was handed to the hub, so a
reply lost with its connection (a partition, a failover) is read again on the next one;
the id only moves forward, so nothing is delivered twice.

Nothing makes it deaf or kills it: every round trip has a deadline (its block time plus
``GRACE``), so a connection that went silent is dropped and replaced within seconds; error
replies (OOM, READONLY, BUSY...) are waited out like an outage, with one log line when
Redis is lost and one when it is back; an entry that cannot be read is counted, logged
and skipped while the rest of its batch is delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio.connection import Connection

from ...codec import Frame, with_position
from ...hub import Hub
from ...rules.pace import Pace
from ...rules.positions import POSITION_KEY
from ...statistics import Statistics
from . import entry
from .autopipeline import AutoPipeline, pack
from .connection import (
    GRACE,
    Client,
    Connections,
    Script,
    jittered,
    refresh_slots,
    transient_reply,
)
from .deployments import ClusterHost, SentinelHost
from .keys import Keys
from .membership import Memberships
from .sentinel import Handover

logger = logging.getLogger("tidings.redis")
BATCH = 512
RECENT = 8 * BATCH  # ids of delivered entries remembered, to skip them if they come back
RECONCILE_EVERY = 6  # heartbeats between re-assertions of this process's memberships
_NEVER = "never looked"  # an epoch no Redis ever returns


def stale_after_ms(heartbeat_interval: float) -> int:
    """A process that has not beaten for this long is *gone*: not pushed to."""
    return int(heartbeat_interval * 3000)


def dead_after_ms(heartbeat_interval: float) -> int:
    """A process that has not beaten for this long is known dead: its memberships are
    removed (it announces them again if it ever comes back). group_send.lua applies the
    same factor."""
    return stale_after_ms(heartbeat_interval) * 10


def _reason(exc: BaseException) -> str:
    """A short, secret-free account of why a round trip failed."""
    if isinstance(exc, TimeoutError):
        return "no answer in time: the connection went silent or Redis is stalled"
    why = transient_reply(exc)
    if why is not None:
        return why
    return f"{type(exc).__name__}: {exc}"


class MailboxReader:
    """Keeps one task draining this process's mailbox ``P:{T}:mbox:<instance>`` in one
    partition (on a Cluster: on the master owning that partition's slot)."""

    def __init__(
        self,
        index: int,
        connections: Connections,
        keys: Keys,
        instance: str,
        hub: Hub,
        memberships: Memberships,
        decode: Callable[[bytes], Frame],
        snapshot: Callable[[], Statistics],
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
        heartbeat_interval: float,
        batch_window: float = 0.0,
    ) -> None:
        """``batch_window``: while entries arrive fast enough for it to pay
        (``rules.pace``: 4 or more per window), after a read that brought group
        messages only (and less than a full batch), the next read is sent no sooner
        than this after the last one: one read then brings many entries, which costs
        this process and Redis a fraction of a read per message, for at most this much
        latency on group messages. Slower traffic is read at once, as is anything after
        a read that brought a direct message."""
        self.index = index
        self.connections = connections
        self.keys = keys
        self.instance = instance
        self.hub = hub
        self.counters = hub.counters
        self.memberships = memberships
        self.decode = decode
        self.snapshot = snapshot
        self.spawn = spawn
        self.heartbeat_interval = heartbeat_interval
        self.batch_window = batch_window
        host = connections.hosts[connections.host_of(index)]
        self.label = host.label
        if keys.partitions > 1:
            self.label += f" (partition {index})"
        self.key = keys.mailbox(index, instance)
        self.home = keys.partition(instance) == index  # statistics are published from here
        self.cluster = isinstance(host, ClusterHost)
        self._refresh = False  # the slot map may be stale (a failure on a Cluster)
        self.node: tuple[str, int] | None = None  # on a Cluster: the master read from
        self.handover = (
            Handover(host.label, self.key, {"socket_connect_timeout": 2.0, **host.options})
            if isinstance(host, SentinelHost)
            else None
        )
        self.heartbeat = Script("heartbeat")
        self.task: asyncio.Task[None] | None = None
        self.stopped = False
        self.offset_ms = 0.0  # Redis clock minus ours, refreshed by every heartbeat
        self.epoch: str | None = None  # the data epoch the last heartbeat saw on this host
        self.epoch_since = 0.0  # when this process first saw that epoch (monotonic)
        self.bad_entries = 0  # skipped unreadable entries, for the log line (counted as dropped)
        self.beats = 0
        # Acknowledged reads. ``cursor``: reads on this connection start after it;
        # ``trim_to``: the next read's XTRIM removes everything up to it (delivered, and
        # read on this same connection, so nothing else is numbered below it); both start
        # over (``rewind``) on a new connection or data set, which may be another stream.
        # ``last_id``: the last entry delivered (the Sentinel handover drains after it).
        self.cursor = b"0-0"
        self.trim_to: bytes | None = None
        self.rewind = False
        self.last_id = b"0-0"
        # Entries delivered lately, by id: a replica promoted before our trims reached it
        # still holds them, and reading it from the start must not deliver them again.
        self.recent: deque[bytes] = deque()
        self.recent_ids: set[bytes] = set()
        self._bad_logged = 0.0
        # The data epoch the last group_send saw on this host, and when it changed.
        self._sent_epoch: str | None = _NEVER
        self._sent_epoch_changed = -1e9

    def ensure_running(self) -> None:
        """Start the task on the running loop unless one is alive on a *running* loop.

        A reader left on a loop that is open but idle (an ``async_to_sync`` loop between
        calls, a finished test's loop) would drain nothing: it is replaced, and ends by
        itself if its loop ever runs again (it is no longer ``self.task``).
        """
        task = self.task
        if task is not None and not task.done() and task.get_loop().is_running():
            return
        self.stopped = False
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"tidings-mailbox-{self.index}"
        )
        self.task.add_done_callback(self._carry_on)

    def _carry_on(self, task: asyncio.Task[None]) -> None:
        """The loop that ran the reader ended (e.g. an async_to_sync call's loop): if
        receivers still wait on another live loop, restart the reader there."""
        if self.stopped or self.task is not task:
            return
        loop = self.hub.waiting_loop()
        if loop is not None:
            # If that loop closed meanwhile, the next receive restarts the reader.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.ensure_running)

    def stop(self) -> None:
        self.stopped = True
        task, self.task = self.task, None
        if task is None or task.done():
            return
        loop = task.get_loop()
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)

    def server_now_ms(self) -> float:
        return time.time() * 1000 + self.offset_ms

    async def beat(self, client: Client) -> None:
        """Heartbeat through ``client``'s auto-pipeline (see ``beat_on``)."""
        await self.beat_on(self.connections.pipeline(client))

    async def beat_on(self, via: AutoPipeline | Connection) -> None:
        """Heartbeat: mark this process alive on this host, publish its statistics, learn
        the Redis clock and data epoch. If Redis lost its data since the last beat, or
        took this process for gone, announce memberships again; every few beats,
        re-assert them anyway so any divergence between Redis and this process heals."""
        stale_after = stale_after_ms(self.heartbeat_interval)
        p = self.index
        keys = [self.keys.alive(p), self.keys.epoch(p), self.keys.stats(p, self.instance), self.key]
        fields: list[Any] = []
        if self.home:
            for name, value in self.snapshot().published().items():
                fields += [name, value]
            fields += ["pid", os.getpid(), "host", socket.gethostname()]
        keep = dead_after_ms(self.heartbeat_interval)  # the mailbox outlives a stale process
        args = [self.instance, max(stale_after * 20, 600_000), secrets.token_hex(8), keep, *fields]
        server_ms, raw_epoch, since = await self.heartbeat(via, keys, args)
        gone = int(since) > stale_after
        epoch = _text(raw_epoch)
        self.offset_ms = float(server_ms) - time.time() * 1000
        previous, self.epoch = self.epoch, epoch
        self.beats += 1
        if previous != epoch:
            self.epoch_since = time.monotonic()
            self.rewind = True  # another data set: its entries may be numbered lower
        if previous is not None and previous != epoch:
            logger.warning(
                "tidings found Redis at %s emptied (restarted or flushed from outside); "
                "announcing this process's group memberships again",
                self.label,
            )
            self.spawn(self.memberships.republish(self.index))
        elif previous is not None and gone:
            logger.warning(
                "tidings was taken for gone by Redis at %s (no heartbeat for too long); "
                "announcing this process's group memberships again",
                self.label,
            )
            self.spawn(self.memberships.republish(self.index))
        elif self.beats % RECONCILE_EVERY == 0:
            self.spawn(self.memberships.republish(self.index, beat=False))

    def membership_reset(self, epoch: str | None) -> bool:
        """Given the data epoch a group_send just saw: whether Redis lost its data
        (restart without persistence, FLUSHALL) so recently that member processes may not
        have announced themselves again: until every one has beaten once more, a
        group_send can miss members without knowing it."""
        now = time.monotonic()
        seen = self._sent_epoch
        window = 2 * self.heartbeat_interval
        if epoch != seen:
            self._sent_epoch = epoch
            if seen != _NEVER:
                self._sent_epoch_changed = now
                logger.warning(
                    "tidings found Redis at %s emptied (restarted or flushed from outside): "
                    "group sends may miss members until every process has announced itself "
                    "again (within %.3gs); their reports say membership_reset=True",
                    self.label,
                    window,
                )
        return epoch is None or now - self._sent_epoch_changed < window

    async def _run(self) -> None:
        me = asyncio.current_task()
        # The reader's own connection, outside the pool: a blocking read per batch costs
        # about half the client CPU this way (no pool checkout and release per read). After
        # a failure or a cut-off read redis-py has disconnected it; the next read reconnects.
        box: list[Connection | None] = [None]
        try:
            await self._drain(me, box)
        finally:
            conn = box[0]
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)

    async def _drain(self, me: asyncio.Task[Any] | None, conn_box: list[Connection | None]) -> None:
        """The drain loop; ``conn_box`` holds the reader's connection (closed by _run)."""
        interval = self.heartbeat_interval
        block = min(1.0, interval)
        block_ms = int(block * 1000)
        next_beat = 0.0
        down_since: float | None = None
        down_reason = ""
        delay = 0.05
        label = self.label
        deadlines = self.connections.deadlines()
        window = self.batch_window
        sent = time.monotonic()
        pace = Pace(window, sent) if window else None  # how fast entries come
        while self.task is me:
            # redis-py can swallow a cancellation that lands while it connects; a
            # cancelled reader must still end (asyncio.run waits for it).
            if me is None or me.cancelling():
                raise asyncio.CancelledError
            # The deadline is what notices a connection that went silent: the socket
            # stays open, so nothing else ever would.
            token = deadlines.add(me, block + GRACE)
            failure: Exception | None = None
            try:
                client = self.connections.client(self.index)  # on Sentinel: checks the master
                if self.cluster:
                    conn = await self._cluster_connection(client, conn_box[0])
                else:
                    conn = conn_box[0] or client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
                if conn is not conn_box[0]:
                    # Its deadline notices a silent connection, and it reads at least once
                    # a second: redis-py's idle health check would only cost a clock read
                    # (and on Python 3.11 a getpid) per command and reply.
                    conn.health_check_interval = 0
                    conn_box[0] = conn
                await _connect(conn, client)
                if time.monotonic() >= next_beat:
                    # On the reader's connection: one connection to notice silence on, as
                    # the reader has always had (a stuck heartbeat elsewhere would cost a
                    # second deadline before the reader is back).
                    await self.beat_on(conn)
                    next_beat = time.monotonic() + interval
                sent = time.monotonic()
                items = await self._read(conn, block_ms)
            except asyncio.CancelledError:
                if not deadlines.fired(token) or me.uncancel() > 0:
                    raise
                failure = TimeoutError()
            except Exception as exc:  # every failure is an outage to wait out, never a crash
                if me.cancelling():
                    raise asyncio.CancelledError from None  # the failure was our own cancel
                failure = exc
            finally:
                deadlines.remove(token)
            if failure is not None:
                dropped = conn_box[0]
                if dropped is not None:  # a reply may be left unread on it: never reuse it
                    with contextlib.suppress(Exception):
                        await dropped.disconnect(nowait=True)
                self.counters.add("backend_errors")
                self.rewind = True  # the next connection may reach another stream
                self._refresh = self.cluster  # MOVED, a failover: ask for the slot map again
                reason = _reason(failure)
                kind = reason.split(":", 1)[0]
                if down_since is None or kind != down_reason:
                    logger.warning(
                        "tidings lost Redis at %s (%s); retrying with backoff",
                        label,
                        reason,
                    )
                    down_since = down_since or time.monotonic()
                    down_reason = kind
                await asyncio.sleep(jittered(delay))
                delay = min(delay * 2, 2.0)
                continue
            if down_since is not None:
                self.counters.add("reconnects")
                logger.warning(
                    "tidings is back on Redis at %s after %.1fs",
                    label,
                    time.monotonic() - down_since,
                )
                down_since = None
                next_beat = 0.0  # the next heartbeat tells whether Redis came back empty
            delay = 0.05
            direct = self.deliver(items) if items else False
            if pace is not None:
                now = time.monotonic()
                pace.add(len(items), now)
                if not direct and len(items) < BATCH and pace.worth_holding:
                    # Group messages only, not a full batch, and coming fast: let more
                    # come before the next read (see ``batch_window``).
                    wait = sent + window - now
                    if wait > 0:
                        await asyncio.sleep(wait)

    def deliver(self, items: list[Any]) -> bool:
        """Dispatch what one read returned, skipping entries delivered before (by id),
        and move the cursor and the trim mark past all of it. Whether a direct message
        was among them."""
        recent, seen = self.recent, self.recent_ids
        fresh: list[bytes] = []
        for stream_id, fields in items:
            if stream_id in seen:
                continue
            fresh.append(fields[1])
            recent.append(stream_id)
            seen.add(stream_id)
        while len(recent) > RECENT:
            seen.discard(recent.popleft())
        last = items[-1][0]
        self.cursor = self.trim_to = last
        if not fresh:
            return False
        self.last_id = last
        return self.dispatch(fresh)

    async def _cluster_connection(self, client: Any, conn: Connection | None) -> Connection:
        """The reader's connection to the master that owns this partition's slot now
        (a new one when the slot moved or that master failed over)."""
        await client.initialize()  # once per client (it learns the slot map)
        if self._refresh:
            self._refresh = False
            await refresh_slots(client)
        node = client.get_node_from_key(self.key)
        self.node = (node.host, int(node.port))
        if conn is not None and (conn.host, conn.port) != (node.host, node.port):
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)
            conn = None
        if conn is None:
            conn = node.connection_class(**node.connection_kwargs)
        return conn

    async def _read(self, conn: Connection, block_ms: int) -> list[Any]:
        """One acknowledged read: trim what was delivered, then wait for what follows it;
        one write, raw replies. The entries read, as (id, [field, value]) pairs."""
        if self.rewind:  # from the start of whatever stream this connection reaches
            self.rewind = False
            self.cursor, self.trim_to = b"0-0", None
        trim = self.trim_to
        commands: list[tuple[Any, ...]] = []
        if trim is not None:
            commands.append(("XTRIM", self.key, "MINID", after(trim)))
        commands.append(
            ("XREAD", "COUNT", BATCH, "BLOCK", block_ms, "STREAMS", self.key, self.cursor)
        )
        await conn.send_packed_command(pack(commands, conn))  # hiredis: ~5 µs less a read
        if trim is not None:
            await conn.read_response()
            self.trim_to = None
        reply = await conn.read_response()
        return reply[0][1] if reply else []

    def dispatch(self, entries: list[bytes]) -> bool:
        """Deliver a batch of mailbox entries into the local hub; one bad entry is counted,
        logged and skipped, never the rest of the batch. Whether one was a direct message
        (someone may be waiting on it for a reply: the next read goes at once)."""
        hub = self.hub
        now = self.server_now_ms()
        expired = 0
        direct = False
        if self.handover is not None:
            entries = self.handover.fresh(entries)
        for raw in entries:
            target = "?"
            try:
                deadline, position, kind, target, payload = entry.parse(raw)
                if deadline <= now:
                    expired += 1
                    continue
                ttl = (deadline - now) / 1000
                if kind == entry.GROUP:
                    frame = self.decode(payload)  # once, for every local member
                    if position is not None:
                        frame = with_position(frame, POSITION_KEY, position)
                    hub.fan_out(target, frame, ttl)
                elif kind == entry.DIRECT:
                    direct = True
                    if not hub.put(target, self.decode(payload), ttl):
                        self.counters.add("dropped")
                        hub.drops.record(f"channel {target!r}", 1)
                elif kind == entry.CONTROL:
                    self.memberships.apply(target, payload)
                else:
                    raise ValueError(f"a {kind!r} entry does not belong in a mailbox")
            except Exception as exc:
                self.skip_bad(target, exc)
        if expired:
            self.counters.add("expired_in_transit", expired)
        return direct

    def skip_bad(self, target: str, exc: Exception) -> None:
        """Count an entry that cannot be read; log it (at most once a second, with how
        many were skipped meanwhile)."""
        self.bad_entries += 1
        self.counters.add("dropped")
        now = time.monotonic()
        if now - self._bad_logged >= 1.0:
            self._bad_logged = now
            logger.error(
                "tidings skipped an unreadable message for %s (%s: %s); %d skipped so far. "
                "Do all processes share the same symmetric_encryption_keys and version?",
                target,
                type(exc).__name__,
                exc,
                self.bad_entries,
            )


def after(stream_id: bytes) -> str:
    """The smallest stream id greater than ``stream_id`` (``ms-seq``)."""
    ms, _, seq = stream_id.decode().partition("-")
    return f"{ms}-{int(seq or 0) + 1}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _connect(conn: Connection, client: Client) -> None:
    """(Re)connect the reader's own connection where the client's pool would.

    redis-py reconnects a dropped connection inside ``send_command`` with the base class's
    connect, which skips a Sentinel-managed connection's master lookup (it would dial
    localhost:6379); and a connection outside the pool is not moved by a followed failover.
    """
    pool = getattr(client, "connection_pool", None)  # a Cluster's client has none
    master = getattr(pool, "master_address", None)
    if conn.is_connected and master is not None and (conn.host, conn.port) != tuple(master):
        await conn.disconnect()  # the sentinels named another master: read there
    if not conn.is_connected:
        await conn.connect()  # type: ignore[no-untyped-call]
