"""RedisChannelLayer: the contract across processes and machines, through Redis or Valkey.

How it moves messages (keys in ``keys.py``):

- Every layer instance (normally one per process) has an *instance token*; its
  process-specific channels are ``<prefix>.<token>!<local>``. Messages for all of them
  share one Redis inbox list per host, drained by one reader task per host
  (``reader.py``) into the shared local ``Hub``, which keeps capacity, expiry and
  fairness per channel. A send to a channel of this same instance skips Redis.
- A group is a sorted set of member *processes* (plus any normal channels) with a count
  per process. ``group_send`` is one EVALSHA that pushes one envelope per member process:
  Redis work grows with processes, not members, and the member list never leaves Redis.
- Normal channels (no ``!``) are Redis lists; each message goes to exactly one receiver.
- Every list entry carries its deadline (Redis clock), so expiry needs no sweeping.
- Processes heartbeat into ``P:alive``; group sends skip processes that stopped beating.

Capacity: a direct send to *another* process's channel raises ``ChannelFull`` when that
process's inbox holds ``inbox_capacity`` entries (it is stalled or gone; a live process
drains its inbox continuously). Per-channel capacity is enforced where the channel is
read: a message that finds its channel full there is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import secrets
import socket
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Unpack

from ...codec import Frame, from_bytes, to_bytes, with_position
from ...crypto import Encryption
from ...exceptions import (
    BackendUnavailable,
    ChannelFull,
    HistoryUnavailable,
    LayerClosed,
)
from ...hub import Hub, Statistics
from ...report import GroupSendReport
from ...rules.options import REDIS as REDIS_OPTIONS
from ...rules.options import resolve as resolve_options
from ...rules.patterns import escape_glob
from ...rules.positions import POSITION_KEY, Position, resume_problem
from ..base import BaseChannelLayer, LayerOptions
from .connection import GRACE, Client, Connections, Script, command
from .hosts import parse_hosts
from .keys import (
    ADD,
    CONTROL,
    DIRECT,
    DISCARD,
    FLUSH,
    GROUP,
    Keys,
    channel_shard_key,
    envelope,
    instance_of,
    member_of,
    shard,
    split_entry,
    split_history_member,
    split_position,
)
from .reader import InboxReader

logger = logging.getLogger("tidings.redis")
_NEVER = "never looked"  # an epoch no Redis ever returns

_SCRIPTS = (
    "send_channel",
    "send_inbox",
    "group_send",
    "group_add",
    "heartbeat",
    "presence",
    "history",
)


class RedisChannelLayer(BaseChannelLayer):
    """Channels, groups and broadcast between processes through Redis (or Valkey).

    ``hosts`` takes channels_redis's forms; several hosts shard channels and groups.
    ``timeout`` bounds how long a call waits for an unreachable Redis before raising
    ``BackendUnavailable``; receivers reconnect by themselves.
    """

    def __init__(
        self,
        hosts: object = None,
        prefix: str = "asgi",
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        inbox_capacity: int = 1000,
        heartbeat_interval: float = 5.0,
        timeout: float = 5.0,
        **options: Unpack[LayerOptions],
    ) -> None:
        own = {
            "hosts": hosts,
            "prefix": prefix,
            "symmetric_encryption_keys": symmetric_encryption_keys,
            "inbox_capacity": inbox_capacity,
            "heartbeat_interval": heartbeat_interval,
            "timeout": timeout,
        }
        values = resolve_options(REDIS_OPTIONS, {**own, **options}, "RedisChannelLayer")
        super().__init__(**options)
        self.hosts = parse_hosts(hosts)
        self.prefix: str = values["prefix"]
        self.keys = Keys(self.prefix)
        self.inbox_capacity: int = values["inbox_capacity"]
        self.heartbeat_interval: float = values["heartbeat_interval"]
        self.timeout: float = values["timeout"]
        self.crypto = Encryption(symmetric_encryption_keys) if symmetric_encryption_keys else None
        self.instance = secrets.token_hex(8)
        self.hub = Hub(self.capacity_rules, self.expiry, self.group_expiry, self.drops)
        self.connections = Connections(self.hosts, self.timeout)
        self.connections.on_master_moved = self._master_moved
        self.scripts = {name: Script(name) for name in _SCRIPTS}
        self.readers = [InboxReader(self, i) for i in range(len(self.hosts))]
        self._expiry_ms = int(self.expiry * 1000)
        self._group_expiry_ms = int(self.group_expiry * 1000)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._multi = len(self.hosts) > 1
        # Orders this process's membership writes (see group_add.lua); drawn under the
        # hub lock together with the count it goes with.
        self._seq = itertools.count(1)
        self._published: set[str] = set()  # groups this process announced a count for
        # Per host: the data epoch group_send last saw, and when it last changed.
        self._epochs: list[str | None] = [_NEVER] * len(self.hosts)
        self._epoch_changed: list[float] = [-1e9] * len(self.hosts)
        self._gone_warned: dict[str, float] = {}
        self._orphans: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[Any]] = {}

    # -- wire form -------------------------------------------------------------------

    def wire(self, frame: Frame) -> bytes:
        data = to_bytes(frame)
        return self.crypto.encrypt(data) if self.crypto else data

    def unwire(self, data: bytes) -> Frame:
        return from_bytes(self.crypto.decrypt(data) if self.crypto else data)

    async def _script(self, index: int, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self.scripts[name]

        async def call(client: Client) -> Any:
            return await script(client, keys, args)

        return await self.connections.run(index, call)

    @property
    def stale_after_ms(self) -> int:
        """A process that has not beaten for this long is *gone*: not pushed to."""
        return int(self.heartbeat_interval * 3000)

    @property
    def dead_after_ms(self) -> int:
        """A process that has not beaten for this long is known dead: its memberships
        are removed (it announces them again if it ever comes back). group_send.lua
        applies the same factor."""
        return self.stale_after_ms * 10

    async def heartbeat(self, client: Client) -> tuple[int, str, bool]:
        """Mark this instance alive on ``client``'s host: (server ms, data epoch, whether
        other processes had taken this one for gone)."""
        stale_after = self.stale_after_ms
        forget_after = max(stale_after * 20, 600_000)
        keys = [self.keys.alive, self.keys.epoch, self.keys.stats(self.instance)]
        stats = self.statistics()
        fields: list[Any] = []
        for name in ("sent", "received", "dropped", "expired", "channels", "queued", "reconnects"):
            fields += [name, getattr(stats, name)]
        fields += ["errors", sum(r.errors for r in self.readers)]
        fields += ["pid", os.getpid(), "host", socket.gethostname()]
        now, epoch, since = await self.scripts["heartbeat"](
            client, keys, [self.instance, forget_after, secrets.token_hex(8), *fields]
        )
        return int(now), _text(epoch), int(since) > stale_after

    def _master_moved(self, index: int, old: tuple[str, int]) -> None:
        """A Sentinel failover was followed: memberships written to the old master just
        before are lost with it (announce them again), and so is what senders left in
        this process's inbox there (the reader, on its own loop, drains it)."""
        self.spawn(self.republish(index))
        reader = self.readers[index]
        task = reader.task
        on_its_loop = task is not None and task.get_loop() is asyncio.get_running_loop()
        if reader.handover is not None and on_its_loop:
            drain = reader.handover.moved(old, reader.dispatch)
            if drain is not None:
                self.spawn(drain)

    def _host_of_channel(self, channel: str) -> int:
        return shard(channel_shard_key(channel), len(self.hosts))

    def _host_of_group(self, group: str) -> int:
        return shard(group, len(self.hosts))

    def _ensure_readers(self) -> None:
        for reader in self.readers:
            reader.ensure_running()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine, keeping a reference until it ends; its failure is
        logged (never an unretrieved task exception)."""
        task = asyncio.get_running_loop().create_task(coro, name="tidings-background")
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The next heartbeat's reconcile writes memberships again; a put-back that
            # failed is said here, so it is never silent.
            logger.warning("tidings background work failed: %s", task.exception())

    # -- the contract's primitives ---------------------------------------------------

    async def _send(self, channel: str, payload: Frame) -> bool:
        instance = instance_of(channel)
        if instance == self.instance:
            return self.hub.put(channel, payload)
        index = self._host_of_channel(channel)
        if instance is not None:
            body = envelope(DIRECT, channel, self.wire(payload))
            args = [body, self._expiry_ms, self.inbox_capacity]
            return bool(await self._script(index, "send_inbox", [self.keys.inbox(instance)], args))
        args = [self.wire(payload), self._expiry_ms, self.capacity_rules.capacity_for(channel)]
        return bool(await self._script(index, "send_channel", [self.keys.channel(channel)], args))

    def _full_reason(self, channel: str) -> str:
        instance = instance_of(channel)
        if instance is None or instance == self.instance:
            return super()._full_reason(channel)
        return (
            f"The process that owns {channel!r} has {self.inbox_capacity} messages waiting in "
            "its inbox (inbox_capacity): it is stalled or gone. Retry later, or check it."
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
        receives never pile up connections), or its entry is put back."""
        key = self.keys.channel(channel)
        index = self._host_of_channel(channel)
        loop = asyncio.get_running_loop()
        slot = (loop, key)

        async def pop(client: Client) -> Any:
            return await command(client, "BLPOP", key, 1)

        while True:
            popping = self._orphans.pop(slot, None)
            if popping is None:
                popping = loop.create_task(
                    self.connections.run(index, pop, extra=1 + GRACE), name="tidings-pop"
                )
            try:
                reply = await asyncio.shield(popping)
            except asyncio.CancelledError:
                self._orphans[slot] = popping
                popping.add_done_callback(lambda done: self._put_back(done, slot, index))
                raise
            except BackendUnavailable:
                await asyncio.sleep(0.5)  # a receiver waits out an outage; senders raise
                continue
            if not reply:
                continue
            try:
                deadline, data = split_entry(reply[1])
                if deadline <= self.readers[index].server_now_ms():
                    self.hub.expired_in_transit += 1
                    continue
                position, data = split_position(data)
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
        if self._orphans.get(slot) is not done:
            return  # a later receive took it over (or it was put back already)
        del self._orphans[slot]
        if done.cancelled() or done.exception() is not None or not done.result():
            return
        entry = done.result()[1]
        key = slot[1]

        async def push(client: Client) -> Any:
            return await command(client, "LPUSH", key, entry)

        self.spawn(self.connections.run(index, push))

    async def _new_channel(self, prefix: str) -> str:
        self._ensure_readers()
        return f"{prefix}.{self.instance}!{secrets.token_hex(8)}"

    def _group_keys(self, group: str) -> list[str]:
        return [self.keys.group(group), self.keys.group_meta(group), self.keys.group_members(group)]

    async def _group_add(self, group: str, channel: str) -> bool | None:
        instance = instance_of(channel)
        index = self._host_of_group(group)
        if instance == self.instance:
            new = self.hub.group_add(group, channel)
            self._ensure_readers()
            await self.publish_membership(group, joined=channel)
            return new
        if instance is not None:
            # Another process's channel: tell it first, so a member it never heard of is
            # never reported as delivered to; it writes its own count when it hears.
            await self._control(instance, channel, ADD, [group, channel])
            args = [member_of(instance), self._group_expiry_ms, 1, "keep", "", "", channel]
            _, new = await self._script(index, "group_add", self._group_keys(group), args)
            return bool(new)
        capacity = self.capacity_rules.capacity_for(channel)
        args = [channel, self._group_expiry_ms, capacity, "set", "", "", channel]
        _, new = await self._script(index, "group_add", self._group_keys(group), args)
        return bool(new)

    async def _group_discard(self, group: str, channel: str) -> bool | None:
        instance = instance_of(channel)
        if instance == self.instance:
            gone = self.hub.group_discard(group, channel)
            await self.publish_membership(group, left=channel)
            return gone
        if instance is not None:
            await self._control(instance, channel, DISCARD, [group, channel])
            return None
        return await self._forget_member(group, channel, channel)

    async def _group_channels(self, group: str) -> list[str]:
        keys = [self.keys.group_members(group), self.keys.alive]
        stale_after = int(self.heartbeat_interval * 3000)
        found = await self._script(self._host_of_group(group), "presence", keys, [stale_after])
        return [c.decode() if isinstance(c, bytes) else str(c) for c in found]

    async def publish_membership(
        self, group: str, joined: str | None = None, left: str | None = None
    ) -> None:
        """Write this process's member count for ``group`` (and the member that came or
        went, for presence) to Redis; the process leaves the group at zero.

        The count and its sequence number are read together, and Redis skips a write
        older than one it applied: racing writers (event loops of this process) leave
        the newest count, never a stale one."""
        with self.hub.lock:
            count = len(self.hub.groups.get(group, ()))
            seq = next(self._seq)
        index = self._host_of_group(group)
        reader = self.readers[index]
        if count and reader.epoch is None:
            # Heartbeat first on the group's host, so a group_send right after this call
            # never takes this process for a stale one.
            await self.connections.run(index, reader.beat)
        args = [member_of(self.instance), self._group_expiry_ms, count, "set", seq, left or ""]
        if joined:
            args.append(joined)
        await self._script(index, "group_add", self._group_keys(group), args)
        if count:
            self._published.add(group)
        else:
            self._published.discard(group)

    async def republish(self, index: int, beat: bool = True) -> None:
        """Announce again every local membership whose group lives on host ``index``
        (after Redis lost its data, after this process was taken for gone, and every few
        heartbeats as a reconcile, so any divergence between Redis and the hub heals)."""
        if beat:
            await self.connections.run(index, self.readers[index].beat)
        for group in set(self.hub.groups) | self._published:
            if self._host_of_group(group) != index:
                continue
            with self.hub.lock:
                seq = next(self._seq)
            members = self.hub.group_members(group)
            args = [member_of(self.instance), self._group_expiry_ms, len(members), "set", seq, ""]
            await self._script(index, "group_add", self._group_keys(group), args + members)
            if members:
                self._published.add(group)
            else:
                self._published.discard(group)

    async def _forget_member(self, group: str, member: str | None, channel: str | None) -> bool:
        """Remove ``member`` from the group set and ``channel`` from presence."""
        keys = self.keys

        async def forget(client: Client) -> Any:
            async with client.pipeline(transaction=True) as pipe:
                if member is not None:
                    pipe.zrem(keys.group(group), member)
                    pipe.hdel(keys.group_meta(group), member)
                if channel is not None:
                    pipe.zrem(keys.group_members(group), channel)
                return await pipe.execute()

        results = await self.connections.run(self._host_of_group(group), forget)
        return bool(results and results[-1])

    async def _control(self, instance: str, channel: str, action: str, payload: Any) -> None:
        body = envelope(CONTROL, action, payload)
        args = [body, self._expiry_ms, self.inbox_capacity]
        index = self._host_of_channel(channel)
        if not await self._script(index, "send_inbox", [self.keys.inbox(instance)], args):
            raise ChannelFull(
                f"Cannot change the memberships of {channel!r}: the process that owns it has "
                f"{self.inbox_capacity} messages waiting in its inbox (inbox_capacity); it is "
                "stalled or gone. Nothing was changed; retry later."
            )

    async def _group_send(self, group: str, payload: Frame) -> GroupSendReport:
        data = self.wire(payload)
        keys = [
            self.keys.group(group),
            self.keys.group_meta(group),
            self.keys.alive,
            self.keys.epoch,
        ]
        args: list[Any] = [
            envelope(GROUP, group, data),
            data,
            self._expiry_ms,
            self.inbox_capacity,
            self.keys.prefix,
            self.stale_after_ms,
            self.capacity,
            member_of(self.instance),
        ]
        if group in self.history_groups:
            keys += self.keys.history(group)
            args += [self.history_size, int(self.history_ttl * 1000), secrets.token_hex(8)]
        index = self._host_of_group(group)
        total, delivered, full, gone, _, position, epoch = await self._script(
            index, "group_send", keys, args
        )
        reset = self._membership_reset(index, None if not epoch else _text(epoch), group)
        if position:
            payload = with_position(payload, POSITION_KEY, _text(position))
        local_members, local_delivered = self.hub.fan_out(group, payload)
        full, gone = int(full), int(gone)
        if full or gone:
            self.hub.dropped += full + gone
        if full:
            self.drops.record(f"group {group!r}", full)
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

    def _membership_reset(self, index: int, epoch: str | None, group: str) -> bool:
        """Whether Redis lost its data (restart without persistence, FLUSHALL) so recently
        that member processes may not have announced themselves again: until every one
        has beaten once more, a group_send can miss members without knowing it."""
        now = time.monotonic()
        seen = self._epochs[index]
        if epoch != seen:
            self._epochs[index] = epoch
            if seen != _NEVER:
                self._epoch_changed[index] = now
                logger.warning(
                    "tidings found Redis at %s emptied (restarted or flushed from outside): "
                    "group sends may miss members until every process has announced itself "
                    "again (within %.3gs); their reports say membership_reset=True",
                    self.hosts[index].label,
                    2 * self.heartbeat_interval,
                )
        return epoch is None or now - self._epoch_changed[index] < 2 * self.heartbeat_interval

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
        index = self._host_of_group(group)
        after = 0 if since is None else since.offset
        epoch, first, last, entries = await self._script(
            index, "history", self.keys.history(group), [after]
        )
        epoch = None if epoch is None else _text(epoch)
        if since is not None:
            problem = resume_problem(since, epoch, int(first), int(last))
            if problem:
                raise HistoryUnavailable(group, problem)
        frames = []
        for member in entries:
            offset, data = split_history_member(member)
            frames.append(with_position(self.unwire(data), POSITION_KEY, f"{epoch}:{offset}"))
        return frames

    async def _flush(self) -> None:
        pattern = escape_glob(self.keys.prefix) + "*"  # never another prefix's keys
        alive_key = self.keys.alive
        epoch_key = self.keys.epoch.encode()
        others: set[str] = set()
        for index in range(len(self.hosts)):

            async def wipe(client: Client) -> None:
                instances = await client.zrange(alive_key, 0, -1)
                others.update(i.decode() if isinstance(i, bytes) else str(i) for i in instances)
                batch: list[Any] = []
                async for key in client.scan_iter(match=pattern, count=1000):
                    if key == epoch_key:  # a flush is not a data loss: no re-announcing
                        continue
                    batch.append(key)
                    if len(batch) >= 500:
                        await client.unlink(*batch)
                        batch.clear()
                if batch:
                    await client.unlink(*batch)

            await self.connections.run(index, wipe)
        self.hub.flush()
        others.discard(self.instance)
        for instance in others:  # their local inboxes and groups go too
            await self._control(instance, instance, FLUSH, None)
        for reader in self.readers:
            reader.epoch = None  # announce liveness again before the next membership

    async def release_loop(self) -> None:
        """Close the running loop's connections (layer.sync calls this before stopping)."""
        await self.connections.close_current()

    async def _close(self) -> None:
        for reader in self.readers:
            reader.stop()
        for task in list(self._tasks):
            task.cancel()
        self.hub.close(LayerClosed)
        await self.connections.close()

    def statistics(self) -> Statistics:
        """Counters and gauges of this process's side of the layer."""
        stats = self.hub.statistics()
        return dataclasses.replace(
            stats,
            reconnects=sum(r.reconnects for r in self.readers),
            backend_errors=sum(r.errors for r in self.readers),
        )

    def __repr__(self) -> str:
        hosts = ", ".join(h.label for h in self.hosts)
        return (
            f"<RedisChannelLayer hosts=[{hosts}] prefix={self.prefix!r} capacity={self.capacity}>"
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
