"""This process's group memberships, mirrored in Redis; the ``Hub`` is the truth.

A group's Redis record counts *processes*: member ``<instance>!`` with how many of that
process's channels are in the group (``group_add.lua``). ``Memberships`` writes this
process's count after every local change (``publish``), again for every group after Redis
lost its data or took this process for gone, and every few heartbeats as a reconcile
(``republish``), and tells other processes about changes to *their* channels through
control entries in their mailboxes (``tell``), which they apply with ``apply``.

Ordering: the count and a sequence number are read together under the hub's lock, and
Redis skips a write older than one it applied, so racing writers (event loops of one
process) leave the newest count, never a stale one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from ...exceptions import ChannelFull
from ...hub import Hub
from . import entry
from .connection import Client, Connections, Script
from .keys import Keys, member_of


class Heart(Protocol):
    """What memberships need of a mailbox reader: whether it has beaten in its partition."""

    epoch: str | None

    async def beat(self, client: Client) -> None: ...


class Memberships:
    """Writes and retracts this process's memberships in Redis."""

    def __init__(
        self,
        connections: Connections,
        keys: Keys,
        hub: Hub,
        instance: str,
        group_expiry_ms: int,
        expiry_ms: int,
        mailbox_capacity: int,
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
    ) -> None:
        self.connections = connections
        self.keys = keys
        self.hub = hub
        self.instance = instance
        self.member = member_of(instance)
        self.group_expiry_ms = group_expiry_ms
        self.expiry_ms = expiry_ms
        self.mailbox_capacity = mailbox_capacity
        self.spawn = spawn
        self.hearts: Sequence[Heart] = ()  # one per partition, set by the layer once made
        self.group_add = Script("group_add")
        self.send_mailbox = Script("send_mailbox")
        self._seq = itertools.count(1)
        self.published: set[str] = set()  # groups this process announced a count for

    def partition_of(self, group: str) -> int:
        """The partition of ``group`` (all its keys are there)."""
        return self.keys.partition(group)

    def group_keys(self, group: str) -> list[str]:
        keys = self.keys
        return [keys.group(group), keys.group_meta(group), keys.group_members(group)]

    async def write(self, group: str, member: str, meta: int, mode: str, *rest: Any) -> bool:
        """One group_add.lua call: (member, meta, 'set'|'keep', seq, left, channels...);
        True if the first listed channel was new in presence."""
        args = [member, self.group_expiry_ms, meta, mode, *rest]
        index = self.partition_of(group)
        _, new = await self.connections.script(index, self.group_add, self.group_keys(group), args)
        return bool(new)

    async def publish(self, group: str, joined: str | None = None, left: str | None = None) -> None:
        """Write this process's member count for ``group`` (and the member that came or
        went, for presence); the process leaves the group at zero."""
        with self.hub.lock:
            count = len(self.hub.groups.get(group, ()))
            seq = next(self._seq)
        index = self.partition_of(group)
        heart = self.hearts[index]
        if count and heart.epoch is None:
            # Heartbeat first in the group's partition, so a group_send right after this call
            # never takes this process for a stale one.
            await self.connections.run(index, heart.beat)
        await self.write(
            group, self.member, count, "set", seq, left or "", *([joined] if joined else [])
        )
        if count:
            self.published.add(group)
        else:
            self.published.discard(group)

    async def republish(self, index: int, beat: bool = True) -> None:
        """Announce again every local membership whose group lives in partition ``index``
        (after Redis lost its data, after this process was taken for gone, and every few
        heartbeats as a reconcile, so any divergence between Redis and the hub heals)."""
        if beat:
            await self.connections.run(index, self.hearts[index].beat)
        for group in set(self.hub.groups) | self.published:
            if self.partition_of(group) != index:
                continue
            with self.hub.lock:
                seq = next(self._seq)
            members = self.hub.group_members(group)
            await self.write(group, self.member, len(members), "set", seq, "", *members)
            if members:
                self.published.add(group)
            else:
                self.published.discard(group)

    async def forget(self, group: str, member: str | None, channel: str | None) -> bool:
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

        results = await self.connections.run(self.partition_of(group), forget)
        return bool(results and results[-1])

    async def tell(self, instance: str, channel: str, action: str, arguments: Any) -> None:
        """Queue a control entry in ``instance``'s mailbox (in its home partition)."""
        args = [
            entry.header(entry.CONTROL, action),
            entry.control_payload(arguments),
            self.expiry_ms,
            self.mailbox_capacity,
        ]
        index = self.keys.partition(instance)
        mailbox = [self.keys.mailbox(index, instance)]
        sent = await self.connections.script(
            index, self.send_mailbox, mailbox, args, idempotent=False
        )
        if not sent:
            raise ChannelFull(
                f"Cannot change the memberships of {channel!r}: the process that owns it has "
                f"{self.mailbox_capacity} messages waiting in its mailbox (mailbox_capacity); "
                "it is stalled or gone. Nothing was changed; retry later."
            )

    def apply(self, action: str, payload: bytes) -> None:
        """Apply a control entry another process sent to this one."""
        if action == entry.FLUSH:
            self.hub.flush()
            return
        group, channel = entry.control_arguments(payload)
        if action == entry.ADD:
            self.hub.group_add(group, channel)
        elif action == entry.DISCARD:
            self.hub.group_discard(group, channel)
        else:
            raise ValueError(f"unknown control action {action!r}")
        self.spawn(self.publish(group))
