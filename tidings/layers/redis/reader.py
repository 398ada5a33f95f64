"""The inbox reader: one task per host drains this process's inbox into the local hub.

It pops up to ``BATCH`` entries per round trip (``BLMPOP``), drops expired ones, hands
direct messages to their channel's inbox, fans group messages out to this process's
members through the shared ``Hub``, and applies control messages (memberships changed
by other processes, flush). It also beats the heart that tells other processes this one
is alive. When Redis goes away it retries with backoff and resumes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ...codec import with_position
from ...crypto import DecryptionFailed
from ...exceptions import BackendUnavailable
from ...rules.positions import POSITION_KEY
from .connection import TRANSIENT, Client, command
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

if TYPE_CHECKING:
    from .layer import RedisChannelLayer

logger = logging.getLogger("tidings.redis")
BATCH = 512


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
        self.reconnects = 0

    def ensure_running(self) -> None:
        """Start the task on the running loop unless one is alive on a live loop."""
        task = self.task
        if task is not None and not task.done() and not task.get_loop().is_closed():
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
        """Heartbeat; if Redis lost its data since the last one, announce memberships again."""
        server_ms, epoch = await self.layer.heartbeat(client)
        self.offset_ms = float(server_ms) - time.time() * 1000
        previous, self.epoch = self.epoch, epoch
        if previous is not None and previous != epoch:
            logger.warning(
                "tidings found Redis at %s emptied (restarted or flushed from outside); "
                "announcing this process's group memberships again",
                self.layer.connections.hosts[self.index].label,
            )
            self.layer.spawn(self.layer.republish(self.index))

    async def _run(self) -> None:
        layer = self.layer
        interval = layer.heartbeat_interval
        block = min(1.0, interval)
        next_beat = 0.0
        down_since: float | None = None
        delay = 0.05
        while True:
            try:
                client = layer.connections.client(self.index)
                if time.monotonic() >= next_beat:
                    await self.beat(client)
                    next_beat = time.monotonic() + interval
                reply = await command(client, "BLMPOP", block, 1, self.key, "LEFT", "COUNT", BATCH)
            except asyncio.CancelledError:
                raise
            except (*TRANSIENT, BackendUnavailable) as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    logger.warning(
                        "tidings lost Redis at %s (%s); reconnecting with backoff",
                        layer.connections.hosts[self.index].label,
                        type(exc).__name__,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if down_since is not None:
                self.reconnects += 1
                logger.warning(
                    "tidings reconnected to Redis at %s after %.1fs",
                    layer.connections.hosts[self.index].label,
                    time.monotonic() - down_since,
                )
                down_since = None
                next_beat = 0.0  # the next heartbeat tells whether Redis came back empty
            delay = 0.05
            if reply:
                self.dispatch(reply[1])

    def dispatch(self, entries: list[bytes]) -> None:
        """Deliver a batch of inbox entries into the local hub."""
        layer = self.layer
        hub = layer.hub
        now = self.server_now_ms()
        for entry in entries:
            deadline, rest = split_entry(entry)
            if deadline <= now:
                hub.expired += 1
                continue
            position, rest = split_position(rest)
            kind, target, payload = open_envelope(rest)
            ttl = (deadline - now) / 1000
            try:
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
            except DecryptionFailed as exc:
                hub.dropped += 1
                logger.error("tidings dropped a message for %s: %s", target, exc)

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
        layer.spawn(layer.publish_membership(group))
