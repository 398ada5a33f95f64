"""The local machinery every backend shares: inboxes, waiters, local groups.

A ``Hub`` holds one ``Inbox`` per channel that is read in this process and the
memberships of those channels. The memory layer *is* a hub; the Redis layer
uses one for its process-specific channels and fans group messages out through
it. Capacity, expiry, fairness and cancellation safety are written here once.

Thread and loop safety: every mutation happens under one ``threading.Lock`` except
the receive fast path, which pops without it (``deque.popleft`` is atomic, and a pop
never changes which inbox or group exists). A receiver waits on a future of its own
event loop; a sender in another loop or thread wakes it with ``call_soon_threadsafe``.
The woken receiver pops the message itself, so a receive cancelled after its wake-up
loses nothing: the message is still in the inbox and the wake-up is passed on to the
next waiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from asyncio import events
from collections import deque
from collections.abc import Callable, Iterable

from .codec import Frame
from .report import DropLog
from .rules.capacity import CapacityRules
from .rules.expiry import sweep_due, sweep_interval
from .statistics import Counters, Statistics

Payload = Frame


class Inbox:
    """Unread messages of one channel, oldest first, and the receivers waiting on it."""

    __slots__ = ("capacity", "items", "waiters")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[tuple[float, Payload]] = deque()
        self.waiters: deque[asyncio.Future[None]] = deque()


class Hub:
    """Inboxes, waiters and groups of the channels read in this process."""

    def __init__(
        self,
        capacity: CapacityRules,
        expiry: float,
        group_expiry: float,
        drops: DropLog,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.expiry = expiry
        self.group_expiry = group_expiry
        self.drops = drops
        self.clock = clock
        self.inboxes: dict[str, Inbox] = {}
        self.groups: dict[str, dict[str, float]] = {}
        self.lock = threading.Lock()
        # The layer's counters: written here under ``lock``, elsewhere via ``counters.add``.
        self.counters = Counters(self.lock)
        self._sweep_every = sweep_interval(expiry, group_expiry)
        self._last_sweep = clock()

    # -- sending -----------------------------------------------------------------

    def put(self, channel: str, payload: Payload, ttl: float | None = None) -> bool:
        """Append to ``channel``'s inbox; False (and nothing stored) if it is full.

        ``ttl`` overrides the layer's expiry (a message that already travelled).
        """
        loop = events._get_running_loop()
        with self.lock:
            now = self.clock()
            if sweep_due(self._last_sweep, now, self._sweep_every):
                self._sweep(now)
            inbox = self.inboxes.get(channel)
            if inbox is None:
                inbox = self.inboxes[channel] = Inbox(self.capacity.capacity_for(channel))
            items = inbox.items
            if len(items) >= inbox.capacity:
                self._purge(inbox, now)
                if len(items) >= inbox.capacity:
                    return False
            items.append((now + (self.expiry if ttl is None else ttl), payload))
            self.counters.sent += 1
            if inbox.waiters:
                self._wake(inbox, loop)
            return True

    def fan_out(self, group: str, payload: Payload, ttl: float | None = None) -> tuple[int, int]:
        """Deliver to every live member of ``group``: returns (members, delivered)."""
        with self.lock:
            now = self.clock()
            # Sweep before taking the group: a sweep deletes emptied groups, and one run
            # while we hold ``members`` used to make us delete the group a second time.
            if sweep_due(self._last_sweep, now, self._sweep_every):
                self._sweep(now)
            members = self.groups.get(group)
            if not members:
                return 0, 0
            if min(members.values()) <= now:  # rare: most sends find no expired member
                for channel in [c for c, until in members.items() if until <= now]:
                    del members[channel]
                if not members:
                    del self.groups[group]
                    return 0, 0
            delivered = self._put_many(members, payload, now, ttl)
            count = len(members)
        if delivered < count:
            self.drops.record(f"group {group!r}", count - delivered, now)
        return count, delivered

    def _put_many(
        self, channels: Iterable[str], payload: Payload, now: float, ttl: float | None = None
    ) -> int:
        # The hot loop of every group_send: keep it to dict lookups and appends.
        # The caller holds the lock and has already swept: never sweep here, the
        # caller may hold references into ``self.groups``.
        loop = events._get_running_loop()
        inboxes = self.inboxes
        item = (now + (self.expiry if ttl is None else ttl), payload)
        delivered = dropped = 0
        for channel in channels:
            inbox = inboxes.get(channel)
            if inbox is None:
                inbox = inboxes[channel] = Inbox(self.capacity.capacity_for(channel))
            items = inbox.items
            if len(items) >= inbox.capacity:
                self._purge(inbox, now)
                if len(items) >= inbox.capacity:
                    dropped += 1
                    continue
            items.append(item)
            delivered += 1
            waiters = inbox.waiters
            if waiters:
                # _wake's common case inline: the oldest waiter is live and on this loop.
                waiter = waiters[0]
                if not waiter.done() and waiter.get_loop() is loop:
                    waiters.popleft()
                    waiter.set_result(None)
                else:
                    self._wake(inbox, loop)
        counters = self.counters
        counters.sent += delivered
        counters.dropped += dropped
        return delivered

    def _wake(self, inbox: Inbox, running: asyncio.AbstractEventLoop | None) -> None:
        """Wake the oldest live waiter; it pops the message itself."""
        waiters = inbox.waiters
        while waiters:
            waiter = waiters.popleft()
            if waiter.done():
                continue
            loop = waiter.get_loop()
            if loop is running:
                waiter.set_result(None)
                return
            try:
                loop.call_soon_threadsafe(_resolve, waiter)
                return
            except RuntimeError:  # that receiver's loop is closed: try the next one
                continue

    # -- receiving ---------------------------------------------------------------

    async def get(self, channel: str) -> Payload:
        """Wait for the next live message of ``channel``; cancellation-safe."""
        loop: asyncio.AbstractEventLoop | None = None
        while True:
            inbox = self.inboxes.get(channel)
            if inbox is not None and inbox.items:
                # Fast path without the lock: deque.popleft is atomic.
                payload = self._pop_live(inbox.items)
                if payload is not None:
                    return payload
            with self.lock:
                inbox = self.inboxes.get(channel)
                if inbox is None:
                    inbox = self.inboxes[channel] = Inbox(self.capacity.capacity_for(channel))
                elif inbox.items:
                    continue  # a message arrived meanwhile: take it on the fast path
                if loop is None:
                    loop = asyncio.get_running_loop()
                waiter: asyncio.Future[None] = loop.create_future()
                inbox.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                with self.lock:
                    try:
                        inbox.waiters.remove(waiter)
                    except ValueError:
                        # We had been picked to take a message: hand the turn on.
                        if inbox.items:
                            self._wake(inbox, loop)
                raise

    def _pop_live(self, items: deque[tuple[float, Payload]]) -> Payload | None:
        now = self.clock()
        while True:
            try:
                until, payload = items.popleft()
            except IndexError:
                return None
            if until > now:
                return payload
            self.counters.expired += 1

    def get_nowait(self, channel: str) -> Payload | None:
        """The next live message of ``channel``, or None if there is none."""
        inbox = self.inboxes.get(channel)
        return None if inbox is None else self._pop_live(inbox.items)

    # -- groups ------------------------------------------------------------------

    def group_add(self, group: str, channel: str) -> bool:
        """Add or refresh a membership (ends ``group_expiry`` from now); True if it is new."""
        with self.lock:
            members = self.groups.get(group)
            if members is None:
                members = self.groups[group] = {}
            now = self.clock()
            before = members.get(channel)
            members[channel] = now + self.group_expiry
            return before is None or before <= now

    def group_discard(self, group: str, channel: str) -> bool:
        """Remove a membership; True if there was one."""
        with self.lock:
            members = self.groups.get(group)
            if not members or members.pop(channel, None) is None:
                return False
            if not members:
                del self.groups[group]
            return True

    def group_members(self, group: str) -> list[str]:
        """Live members of ``group``, in the order they joined."""
        with self.lock:
            now = self.clock()
            return [c for c, until in self.groups.get(group, {}).items() if until > now]

    # -- housekeeping ------------------------------------------------------------

    def waiting_loop(self) -> asyncio.AbstractEventLoop | None:
        """A running, open event loop on which some receiver is waiting, if any."""
        with self.lock:
            for inbox in self.inboxes.values():
                for waiter in inbox.waiters:
                    loop = waiter.get_loop()
                    if not waiter.done() and loop.is_running() and not loop.is_closed():
                        return loop
        return None

    def close(self, error: Callable[[], BaseException]) -> int:
        """End every waiting receive with ``error()``; returns how many there were.

        Messages already queued stay (a closed layer can be used again)."""
        ended = 0
        with self.lock:
            for inbox in self.inboxes.values():
                while inbox.waiters:
                    waiter = inbox.waiters.popleft()
                    if waiter.done():
                        continue
                    ended += 1
                    # A closed loop raises RuntimeError: nobody waits there any more.
                    with contextlib.suppress(RuntimeError):
                        waiter.get_loop().call_soon_threadsafe(_fail, waiter, error())
        return ended

    def flush(self) -> None:
        """Drop every message and membership; waiting receivers keep waiting."""
        with self.lock:
            for channel, inbox in list(self.inboxes.items()):
                self.counters.flushed += len(inbox.items)
                inbox.items.clear()
                if not inbox.waiters:
                    del self.inboxes[channel]
            self.groups.clear()

    def _purge(self, inbox: Inbox, now: float) -> None:
        items = inbox.items
        while items and items[0][0] <= now:
            items.popleft()
            self.counters.expired += 1

    def _sweep(self, now: float) -> None:
        """Drop expired messages and memberships everywhere; at most once per interval."""
        self._last_sweep = now
        for channel, inbox in list(self.inboxes.items()):
            self._purge(inbox, now)
            if not inbox.items and not inbox.waiters:
                del self.inboxes[channel]
        for group, members in list(self.groups.items()):
            for channel in [c for c, until in members.items() if until <= now]:
                del members[channel]
            if not members:
                del self.groups[group]

    def statistics(self) -> Statistics:
        """Counters and gauges of this hub, taken under its lock."""
        with self.lock:
            depths = {c: len(i.items) for c, i in self.inboxes.items() if i.items}
            deepest = dict(sorted(depths.items(), key=lambda kv: -kv[1])[:10])
            c = self.counters
            return Statistics(
                sent=c.sent,
                # Derived, so the receive path needs no shared counter.
                received=c.sent - c.expired - c.flushed - sum(depths.values()),
                dropped=c.dropped,
                expired=c.expired + c.expired_in_transit,
                channels=len(self.inboxes),
                groups=len(self.groups),
                memberships=sum(len(m) for m in self.groups.values()),
                queued=sum(depths.values()),
                waiting_receivers=sum(len(i.waiters) for i in self.inboxes.values()),
                deepest=deepest,
                reconnects=c.reconnects,
                backend_errors=c.backend_errors,
            )


def _fail(waiter: asyncio.Future[None], error: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(error)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
