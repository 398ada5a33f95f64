"""RedisChannelLayer: the contract across processes and machines, through Redis or Valkey.

How it moves messages (keys in ``keys.py``):

- Every layer instance (normally one per process) has an *instance token*; its
  process-specific channels are ``<prefix>.<token>!<local>``. Messages for all of them
  go to the process's *mailboxes* (Redis streams), one per partition, each drained by a
  reader task (``mailbox.py``) into the local ``Hub``, which keeps one *inbox* per channel
  with capacity, expiry and fairness. A send to a channel of this same instance skips Redis.
- Keys are in *partitions* (``keys.py``): one on a single Redis, one per host when
  sharding, 16 hash slots on a Redis Cluster; every script's keys are in one partition.
- A group is a sorted set of member *processes* (plus any normal channels) with a count
  per process (``membership.py`` keeps this process's counts). ``group_send`` is one
  EVALSHA (in the group's partition) that sends the payload once and adds one entry per
  member process to its mailbox there: Redis work grows with processes, not members, and
  the member list never leaves Redis.
- Entries (``entry.py``) are built once per call (Lua builds them for group members) and
  parsed once per receiving process; each payload is decoded once per process.
- Calls made concurrently on one loop share round trips (``AutoPipeline``).
- Normal channels (no ``!``) are Redis lists; each message goes to exactly one receiver.
- Every entry carries its deadline (Redis clock), so expiry needs no sweeping.
- Processes heartbeat into every partition's ``alive``; group sends skip processes that
  stopped beating.

Capacity: a direct send to *another* process's channel raises ``ChannelFull`` when that
process's mailbox holds ``mailbox_capacity`` entries (it is stalled or gone; a live process
drains its mailbox continuously).
Per-channel capacity is enforced where the channel is read: a message that finds its
channel full there is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any, Unpack

from ...codec import Frame, from_bytes, to_bytes, with_position
from ...crypto import Encryption
from ...exceptions import BackendUnavailable, HistoryUnavailable, LayerClosed
from ...hub import Hub
from ...report import MAILBOXES_FULL, GroupSendReport
from ...rules.options import REDIS as REDIS_OPTIONS
from ...rules.options import resolve as resolve_options
from ...rules.patterns import escape_glob
from ...rules.positions import POSITION_KEY, Position, resume_problem
from ...statistics import Statistics
from ..base import BaseChannelLayer, LayerOptions
from . import entry
from .background import Background
from .connection import GRACE, Client, Connections, Script, command
from .deployments import ClusterHost
from .hosts import parse_hosts
from .keys import Keys, instance_of, member_of
from .mailbox import MailboxReader, dead_after_ms, stale_after_ms
from .membership import Memberships
from .partitions import CLUSTER_PARTITIONS

logger = logging.getLogger("tidings.redis")


class RedisChannelLayer(BaseChannelLayer):
    """Channels, groups and broadcast between processes through Redis (or Valkey).

    ``hosts`` takes channels_redis's forms; several hosts shard channels and groups.
    ``timeout`` bounds how long a call waits for an unreachable Redis before raising
    ``BackendUnavailable``; receivers reconnect by themselves. ``mailbox_capacity`` is how
    many entries a process's mailbox (a Redis stream) holds before sends to it fail.
    ``partitions``: how many hash slots keys are spread over (None: 16 on a Redis Cluster,
    else one per host). ``batch_window``: while group messages come 4 or more per window,
    a process reads them from its mailbox at most this often (each read then brings
    many: less CPU here and in Redis), so they may wait this long; slower traffic, and
    what follows a direct message, is read at once.
    """

    def __init__(
        self,
        hosts: object = None,
        prefix: str = "asgi",
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        mailbox_capacity: int | None = None,
        heartbeat_interval: float = 5.0,
        timeout: float = 5.0,
        partitions: int | None = None,
        batch_window: float = 0.001,
        **options: Unpack[LayerOptions],
    ) -> None:
        own = {
            "hosts": hosts,
            "prefix": prefix,
            "symmetric_encryption_keys": symmetric_encryption_keys,
            **({} if mailbox_capacity is None else {"mailbox_capacity": mailbox_capacity}),
            "heartbeat_interval": heartbeat_interval,
            "timeout": timeout,
            "partitions": partitions,
            "batch_window": batch_window,
        }
        values = resolve_options(REDIS_OPTIONS, {**own, **options}, "RedisChannelLayer")
        options.pop("inbox_capacity", None)  # type: ignore[typeddict-item]  # resolved above
        super().__init__(**options)
        self.hosts = parse_hosts(hosts)
        self.prefix: str = values["prefix"]
        self.cluster = isinstance(self.hosts[0], ClusterHost)
        count = values["partitions"]
        if count is None:
            count = CLUSTER_PARTITIONS if self.cluster else len(self.hosts)
        self.partitions: int = count
        self.keys = Keys(self.prefix, count)
        self.mailbox_capacity: int = values["mailbox_capacity"]
        self.heartbeat_interval: float = values["heartbeat_interval"]
        self.crypto = Encryption(symmetric_encryption_keys) if symmetric_encryption_keys else None
        self.instance = secrets.token_hex(8)
        self.hub = Hub(self.capacity_rules, self.expiry, self.group_expiry, self.drops)
        self.connections = Connections(self.hosts, values["timeout"], count)
        self.timeout: float = self.connections.timeout  # maybe lowered by a socket_timeout
        self.scripts = {
            name: Script(name)
            for name in ("send_channel", "send_mailbox", "group_send", "presence", "history")
        }
        self.connections.on_master_moved = self._master_moved
        self._expiry_ms = int(self.expiry * 1000)
        self.background = Background()
        self.memberships = Memberships(
            self.connections,
            self.keys,
            self.hub,
            self.instance,
            int(self.group_expiry * 1000),
            self._expiry_ms,
            self.mailbox_capacity,
            self.background.spawn,
        )
        # One reader per partition: a group send reaches this process through its mailbox
        # in the group's partition, which may be any of them. (Reading only the partitions
        # where this process has memberships, plus its home, would save connections.)
        self.readers = [
            MailboxReader(
                partition,
                self.connections,
                self.keys,
                self.instance,
                self.hub,
                self.memberships,
                self.unwire,
                self.statistics,
                self.background.spawn,
                self.heartbeat_interval,
                values["batch_window"],
            )
            for partition in range(count)
        ]
        self.memberships.hearts = self.readers
        self._multi = count > 1
        # group_send's arguments that never change, as bytes: redis-py encodes every
        # argument of every call, and these are most of them.
        self._group_send_args = [
            str(v).encode()
            for v in (
                self._expiry_ms,
                self.mailbox_capacity,
                self.stale_after_ms,
                self.memberships.member,
            )
        ]
        self._gone_warned: dict[str, float] = {}
        self._plans: dict[str, tuple[int, list[str], bytes]] = {}
        self._orphans: dict[tuple[asyncio.AbstractEventLoop, str], deque[asyncio.Task[Any]]] = {}

    # -- wire form -------------------------------------------------------------------

    def wire(self, frame: Frame) -> bytes:
        data = to_bytes(frame)
        return self.crypto.encrypt(data) if self.crypto else data

    def unwire(self, data: bytes) -> Frame:
        return from_bytes(self.crypto.decrypt(data) if self.crypto else data)

    @property
    def stale_after_ms(self) -> int:
        """A process that has not beaten for this long is *gone*: not pushed to."""
        return stale_after_ms(self.heartbeat_interval)

    @property
    def dead_after_ms(self) -> int:
        """A process that has not beaten for this long is known dead."""
        return dead_after_ms(self.heartbeat_interval)

    def _master_moved(self, host: int, old: tuple[str, int]) -> None:
        """A Sentinel failover was followed: memberships written to the old master just
        before are lost with it (announce them again), and so is what senders left in
        this process's mailboxes there (each reader, on its own loop, drains them)."""
        for reader in self.readers:
            if self.connections.host_of(reader.index) != host:
                continue
            self.spawn(self.memberships.republish(reader.index))
            task = reader.task
            on_its_loop = task is not None and task.get_loop() is asyncio.get_running_loop()
            if reader.handover is not None and on_its_loop:
                drain = reader.handover.moved(old, reader.dispatch, reader.last_id)
                if drain is not None:
                    self.spawn(drain)

    def _ensure_readers(self) -> None:
        for reader in self.readers:
            reader.ensure_running()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine, keeping a reference until it ends."""
        self.background.spawn(coro)

    # -- the contract's primitives ---------------------------------------------------

    async def _send(self, channel: str, payload: Frame) -> bool:
        instance = instance_of(channel)
        if instance == self.instance:
            return self.hub.put(channel, payload)
        if instance is not None:  # the receiving process's mailbox in its home partition
            index = self.keys.partition(instance)
            script, keys = self.scripts["send_mailbox"], [self.keys.mailbox(index, instance)]
            header = entry.header(entry.DIRECT, channel)
            args: list[Any] = [header, self.wire(payload), self._expiry_ms, self.mailbox_capacity]
        else:
            index = self.keys.partition(channel)
            script, keys = self.scripts["send_channel"], [self.keys.channel(channel)]
            args = [self.wire(payload), self._expiry_ms, self.capacity_rules.capacity_for(channel)]
        return bool(await self.connections.script(index, script, keys, args, idempotent=False))

    def _full_reason(self, channel: str) -> str:
        instance = instance_of(channel)
        if instance is None or instance == self.instance:
            return super()._full_reason(channel)
        return (
            f"The process that owns {channel!r} has {self.mailbox_capacity} messages waiting in "
            "its mailbox (mailbox_capacity): it is stalled or gone. Retry later, or check it."
        )

    async def _receive(self, channel: str) -> Frame:
        if channel in self.hub.inboxes:  # a channel of ours already in use: the hot path
            task = self.readers[0].task
            if task is None or task.done() or not task.get_loop().is_running() or self._multi:
                self._ensure_readers()
            return await self.hub.get(channel)
        instance = instance_of(channel)
        if instance is None:
            return await self._receive_normal(channel)
        if instance != self.instance:
            raise ValueError(
                f"Channel {channel!r} is process-specific and belongs to another layer "
                "instance; only the layer whose new_channel() made it can receive on it."
            )
        self._ensure_readers()
        return await self.hub.get(channel)

    async def _receive_normal(self, channel: str) -> Frame:
        """BLPOP a normal channel. A pop still running when its receive was cancelled is
        taken over by the next receive of that channel on this loop (so cancelled
        receives never pile up connections), or its entry is put back (``close()`` waits
        for that)."""
        key = self.keys.channel(channel)
        index = self.keys.partition(channel)
        loop = asyncio.get_running_loop()
        slot = (loop, key)

        async def pop(client: Client) -> Any:
            return await command(client, "BLPOP", key, 1)

        while True:
            orphans = self._orphans.get(slot)
            popping = orphans.popleft() if orphans else None
            if popping is None:
                popping = loop.create_task(
                    self.connections.run(index, pop, extra=1 + GRACE), name="tidings-pop"
                )
            try:
                reply = await asyncio.shield(popping)
            except asyncio.CancelledError:
                # Several receives of one channel may be cancelled together: each pop is
                # kept, taken over by a later receive or put back, never dropped.
                self._orphans.setdefault(slot, deque()).append(popping)
                self.background.awaited.add(popping)
                popping.add_done_callback(lambda done: self._put_back(done, slot, index))
                raise
            except BackendUnavailable:
                await asyncio.sleep(0.5)  # a receiver waits out an outage; senders raise
                continue
            if not reply:
                continue
            try:
                deadline, position, _, _, data = entry.parse(reply[1])
                if deadline <= self.readers[index].server_now_ms():
                    self.hub.counters.add("expired_in_transit")
                    continue
                frame = self.unwire(data)
            except Exception as exc:  # one bad entry must not reach (or end) the receiver
                self.readers[index].skip_bad(channel, exc)
                continue
            return frame if position is None else with_position(frame, POSITION_KEY, position)

    def _put_back(
        self,
        done: asyncio.Task[Any],
        slot: tuple[asyncio.AbstractEventLoop, str],
        index: int,
    ) -> None:
        self.background.awaited.discard(done)
        orphans = self._orphans.get(slot)
        if not orphans or done not in orphans:
            return  # a later receive took it over (it gets the entry)
        orphans.remove(done)
        if not orphans:
            del self._orphans[slot]
        if done.cancelled() or done.exception() is not None or not done.result():
            return
        popped = done.result()[1]
        key = slot[1]

        async def push(client: Client) -> Any:
            return await command(client, "LPUSH", key, popped)

        self.background.spawn(self.connections.run(index, push), keep=True)

    async def _new_channel(self, prefix: str) -> str:
        self._ensure_readers()
        return f"{prefix}.{self.instance}!{secrets.token_hex(8)}"

    async def _group_add(self, group: str, channel: str) -> bool | None:
        instance = instance_of(channel)
        memberships = self.memberships
        if instance == self.instance:
            new = self.hub.group_add(group, channel)
            self._ensure_readers()
            await memberships.publish(group, joined=channel)
            return new
        if instance is not None:
            # Another process's channel: tell it first, so a member it never heard of is
            # never reported as delivered to; it writes its own count when it hears.
            await memberships.tell(instance, channel, entry.ADD, [group, channel])
            return await memberships.write(group, member_of(instance), 1, "keep", "", "", channel)
        capacity = self.capacity_rules.capacity_for(channel)
        return await memberships.write(group, channel, capacity, "set", "", "", channel)

    async def _group_discard(self, group: str, channel: str) -> bool | None:
        instance = instance_of(channel)
        if instance == self.instance:
            gone = self.hub.group_discard(group, channel)
            await self.memberships.publish(group, left=channel)
            return gone
        if instance is not None:
            await self.memberships.tell(instance, channel, entry.DISCARD, [group, channel])
            return None
        return await self.memberships.forget(group, channel, channel)

    async def _group_channels(self, group: str) -> list[str]:
        index = self.keys.partition(group)
        keys = [self.keys.group_members(group), self.keys.alive(index)]
        script = self.scripts["presence"]
        found = await self.connections.script(index, script, keys, [self.stale_after_ms])
        return [_text(c) for c in found]

    def _send_plan(self, group: str) -> tuple[int, list[str], bytes]:
        """A group's partition, group_send.lua's keys and the entry header: the same on
        every send to that group, so made once (bounded: a busy server sends to many)."""
        plan = self._plans.get(group)
        if plan is None:
            if len(self._plans) >= 10_000:
                self._plans.clear()
            index = self.keys.partition(group)
            keys = [
                self.keys.group(group),
                self.keys.group_meta(group),
                self.keys.alive(index),
                self.keys.epoch(index),
            ]
            plan = self._plans[group] = (index, keys, entry.header(entry.GROUP, group))
        return plan

    async def _group_send(self, group: str, payload: Frame) -> GroupSendReport:
        index, keys, header = self._send_plan(group)
        data = self.wire(payload)  # encoded once, sent once
        args: list[Any] = [header, data, *self._group_send_args]
        if group in self.history_groups:
            keys = keys + self.keys.history(group)
            args += [self.history_size, int(self.history_ttl * 1000), secrets.token_hex(8)]
        total, delivered, full, gone, _, position, epoch, channels = await self.connections.script(
            index, self.scripts["group_send"], keys, args, idempotent=False
        )
        channels_full = 0
        if channels:  # normal channels live in partitions of their own
            queued, channels_full = await self._forward(channels, data, position)
            total, delivered = int(total) + queued + channels_full, int(delivered) + queued
        reset = self.readers[index].membership_reset(None if not epoch else _text(epoch))
        if position:
            payload = with_position(payload, POSITION_KEY, _text(position))
        local_members, local_delivered = self.hub.fan_out(group, payload)
        mailboxes_full, gone = int(full), int(gone)
        full = mailboxes_full + channels_full
        if full or gone:
            self.hub.counters.add("dropped", full + gone)
            self.drops.record(f"group {group!r}", mailboxes_full, reason=MAILBOXES_FULL)
            self.drops.record(f"group {group!r}", channels_full)
            if gone:
                self._warn_gone(group, gone)
        return GroupSendReport(
            group,
            int(total) + local_members,
            int(delivered) + local_delivered,
            full + gone + local_members - local_delivered,
            gone=gone,
            membership_reset=reset,
        )

    async def _forward(
        self, channels: list[bytes], data: bytes, position: bytes
    ) -> tuple[int, int]:
        """Send a group message to the group's normal-channel members (``channels``:
        name, capacity or '' pairs), each in its own partition; (queued, full)."""
        mark = entry.position_block(_text(position) if position else None)
        script = self.scripts["send_channel"]

        async def one(name: str, raw: bytes) -> Any:
            capacity = int(raw) if raw else self.capacity_rules.capacity_for(name)
            args = [data, self._expiry_ms, capacity, mark]
            index = self.keys.partition(name)
            key = [self.keys.channel(name)]
            return await self.connections.script(index, script, key, args, idempotent=False)

        pairs = [(_text(channels[i]), channels[i + 1]) for i in range(0, len(channels), 2)]
        results = await asyncio.gather(*(one(name, raw) for name, raw in pairs))
        queued = sum(1 for r in results if r)
        return queued, len(results) - queued

    def _warn_gone(self, group: str, count: int) -> None:
        self.drops.total += count
        now = time.monotonic()
        if now - self._gone_warned.get(group, -1e9) < self.drops.interval:
            return
        if len(self._gone_warned) > 10_000:
            self._gone_warned.clear()
        self._gone_warned[group] = now
        logger.warning(
            "tidings: %d member(s) of group %r missed a message because their process stopped "
            "heartbeating (crashed, killed or stalled); they are counted as gone, and after "
            "%.3gs without a heartbeat no longer counted at all.",
            count,
            group,
            self.dead_after_ms / 1000,
        )

    async def _group_history(self, group: str, since: Position | None) -> list[Frame]:
        index = self.keys.partition(group)
        after = 0 if since is None else since.offset
        epoch, first, last, entries = await self.connections.script(
            index, self.scripts["history"], self.keys.history(group), [after]
        )
        epoch = None if epoch is None else _text(epoch)
        if since is not None:
            problem = resume_problem(since, epoch, int(first), int(last))
            if problem:
                raise HistoryUnavailable(group, problem)
        frames = []
        for member in entries:
            offset, data = entry.split_history_member(member)
            frames.append(with_position(self.unwire(data), POSITION_KEY, f"{epoch}:{offset}"))
        return frames

    async def _flush(self) -> None:
        pattern = escape_glob(self.keys.prefix) + "*"  # never another prefix's keys
        # a flush is not a data loss: the epochs stay (no re-announcing)
        epochs = {self.keys.epoch(p).encode() for p in range(self.partitions)}
        others: set[str] = set()
        for host in range(len(self.hosts)):
            mine = [p for p in range(self.partitions) if self.connections.host_of(p) == host]

            async def wipe(client: Client, mine: list[int] = mine) -> None:
                for partition in mine:
                    instances = await client.zrange(self.keys.alive(partition), 0, -1)
                    others.update(_text(i) for i in instances)
                batch: list[Any] = []
                async for key in client.scan_iter(match=pattern, count=1000):
                    if key in epochs:
                        continue
                    batch.append(key)
                    if len(batch) >= 500:
                        await client.unlink(*batch)
                        batch.clear()
                if batch:
                    await client.unlink(*batch)

            await self.connections.run(host, wipe)
        self.hub.flush()
        others.discard(self.instance)
        for instance in others:  # their local inboxes and groups go too
            await self.memberships.tell(instance, instance, entry.FLUSH, None)
        for reader in self.readers:
            reader.epoch = None  # announce liveness again before the next membership

    async def release_loop(self) -> None:
        """Close the running loop's connections (layer.sync calls this before stopping)."""
        await self.connections.close_current()

    async def _close(self) -> None:
        for reader in self.readers:
            reader.stop()
        # Put back what cancelled receives popped before the connections go.
        await self.background.close(self.timeout + 1 + GRACE)
        self.hub.close(LayerClosed)
        await self.connections.close()

    def statistics(self) -> Statistics:
        """Counters and gauges of this process's side of the layer."""
        return self.hub.statistics()

    def __repr__(self) -> str:
        hosts = ", ".join(h.label for h in self.hosts)
        return (
            f"<RedisChannelLayer hosts=[{hosts}] prefix={self.prefix!r} capacity={self.capacity}>"
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
