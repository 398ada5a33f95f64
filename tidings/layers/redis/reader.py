"""The inbox reader: one task per host drains this process's inbox into the local hub.

It pops up to ``BATCH`` entries per round trip (``BLMPOP``), drops expired ones, hands
direct messages to their channel's inbox, fans group messages out to this process's
members through the shared ``Hub``, and applies control messages (memberships changed
by other processes, flush). It also beats the heart that tells other processes this one
is alive. When Redis goes away it retries with backoff and resumes by itself.

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
import time
from typing import TYPE_CHECKING, Any

from ...codec import with_position
from ...rules.positions import POSITION_KEY
from .connection import GRACE, Client, command, jittered, transient_reply
from .deployments import SentinelHost
from .keys import (
    ADD,
    CONTROL,
    DIRECT,
    DISCARD,
    FLUSH,
    GROUP,
    open_envelope,
    split_entry,
    split_position,
)
from .sentinel import Handover

if TYPE_CHECKING:
    from .layer import RedisChannelLayer

logger = logging.getLogger("tidings.redis")
BATCH = 512
RECONCILE_EVERY = 6  # heartbeats between re-assertions of this process's memberships


def _reason(exc: BaseException) -> str:
    """A short, secret-free account of why a round trip failed."""
    if isinstance(exc, TimeoutError):
        return "no answer in time: the connection went silent or Redis is stalled"
    why = transient_reply(exc)
    if why is not None:
        return why
    return f"{type(exc).__name__}: {exc}"


class InboxReader:
    """Keeps one task draining ``P:inbox:<instance>`` on one host."""

    def __init__(self, layer: RedisChannelLayer, index: int) -> None:
        self.layer = layer
        self.index = index
        self.key = layer.keys.inbox(layer.instance)
        self.task: asyncio.Task[None] | None = None
        self.stopped = False
        self.offset_ms = 0.0  # Redis clock minus ours, refreshed by every heartbeat
        self.epoch: str | None = None  # the data epoch last seen on this host
        self.epoch_since = 0.0  # when this process first saw that epoch (monotonic)
        self.reconnects = 0  # outages this reader came back from
        self.errors = 0  # failed round trips (timeouts, lost connections, error replies)
        self.bad_entries = 0  # entries that could not be read, skipped
        self.beats = 0
        self._bad_logged = 0.0
        host = layer.connections.hosts[index]  # on Sentinel: delivered once across a failover
        self.handover = (
            Handover(host.label, self.key, {"socket_connect_timeout": 2.0, **host.options})
            if isinstance(host, SentinelHost)
            else None
        )

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
            self._run(), name=f"tidings-inbox-{self.index}"
        )
        self.task.add_done_callback(self._carry_on)

    def _carry_on(self, task: asyncio.Task[None]) -> None:
        """The loop that ran the reader ended (e.g. an async_to_sync call's loop): if
        receivers still wait on another live loop, restart the reader there."""
        if self.stopped or self.task is not task:
            return
        loop = self.layer.hub.waiting_loop()
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
        """Heartbeat; if Redis lost its data since the last one, or took this process
        for gone, announce memberships again. Every few beats, re-assert them anyway so
        any divergence between Redis and this process heals."""
        server_ms, epoch, gone = await self.layer.heartbeat(client)
        self.offset_ms = float(server_ms) - time.time() * 1000
        previous, self.epoch = self.epoch, epoch
        self.beats += 1
        if previous != epoch:
            self.epoch_since = time.monotonic()
        label = self.layer.connections.hosts[self.index].label
        if previous is not None and previous != epoch:
            logger.warning(
                "tidings found Redis at %s emptied (restarted or flushed from outside); "
                "announcing this process's group memberships again",
                label,
            )
            self.layer.spawn(self.layer.republish(self.index))
        elif previous is not None and gone:
            logger.warning(
                "tidings was taken for gone by Redis at %s (no heartbeat for too long); "
                "announcing this process's group memberships again",
                label,
            )
            self.layer.spawn(self.layer.republish(self.index))
        elif self.beats % RECONCILE_EVERY == 0:
            self.layer.spawn(self.layer.republish(self.index, beat=False))

    async def _run(self) -> None:
        layer = self.layer
        me = asyncio.current_task()
        interval = layer.heartbeat_interval
        block = min(1.0, interval)
        next_beat = 0.0
        down_since: float | None = None
        down_reason = ""
        delay = 0.05
        label = layer.connections.hosts[self.index].label
        deadlines = layer.connections.deadlines()
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
                client = layer.connections.client(self.index)
                if time.monotonic() >= next_beat:
                    await self.beat(client)
                    next_beat = time.monotonic() + interval
                reply = await command(client, "BLMPOP", block, 1, self.key, "LEFT", "COUNT", BATCH)
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
                self.errors += 1
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
                self.reconnects += 1
                logger.warning(
                    "tidings is back on Redis at %s after %.1fs",
                    label,
                    time.monotonic() - down_since,
                )
                down_since = None
                next_beat = 0.0  # the next heartbeat tells whether Redis came back empty
            delay = 0.05
            if reply:
                self.dispatch(reply[1])

    def dispatch(self, entries: list[bytes]) -> None:
        """Deliver a batch of inbox entries into the local hub; one bad entry is counted,
        logged and skipped, never the rest of the batch."""
        layer = self.layer
        hub = layer.hub
        now = self.server_now_ms()
        if self.handover is not None:
            entries = self.handover.fresh(entries)
        for entry in entries:
            target = "?"
            try:
                deadline, rest = split_entry(entry)
                if deadline <= now:
                    hub.expired_in_transit += 1
                    continue
                position, rest = split_position(rest)
                kind, target, payload = open_envelope(rest)
                ttl = (deadline - now) / 1000
                if kind == DIRECT:
                    if not hub.put(target, layer.unwire(payload), ttl):
                        hub.dropped += 1
                        layer.drops.record(f"channel {target!r}", 1)
                elif kind == GROUP:
                    frame = layer.unwire(payload)
                    if position is not None:  # stamped once for every member here
                        frame = with_position(frame, POSITION_KEY, position)
                    hub.fan_out(target, frame, ttl)
                elif kind == CONTROL:
                    self._control(target, payload)
                else:
                    raise ValueError(f"unknown entry kind {kind!r}")
            except Exception as exc:
                self.skip_bad(target, exc)

    def skip_bad(self, target: str, exc: Exception) -> None:
        """Count an entry that cannot be read; log it (at most once a second, with how
        many were skipped meanwhile)."""
        self.bad_entries += 1
        self.layer.hub.dropped += 1
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

    def _control(self, action: str, payload: Any) -> None:
        layer = self.layer
        if action == FLUSH:
            layer.hub.flush()
            return
        group, channel = payload
        if action == ADD:
            layer.hub.group_add(group, channel)
        elif action == DISCARD:
            layer.hub.group_discard(group, channel)
        else:
            raise ValueError(f"unknown control action {action!r}")
        layer.spawn(layer.publish_membership(group))
