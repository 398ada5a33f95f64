"""Which Redis keys and hosts an operation touches, and the bytes it writes: pure rules.

Keys (``P`` is the layer's prefix)::

    P:inbox:<instance>   LIST   messages for one process's channels (and group/control envelopes)
    P:chan:<name>        LIST   a normal channel: a worker queue, any process may receive
    P:group:<group>      ZSET   members: "<instance>!" for a process, or a normal channel name;
                                score = membership deadline (ms, Redis server clock)
    P:gmeta:<group>      HASH   per member: how many of that process's channels are in the group,
                                or a normal channel's capacity
    P:members:<group>    ZSET   presence: member channel -> membership deadline (never read by
                                group_send, so presence costs it nothing)
    P:alive              ZSET   instance -> last heartbeat (ms); stale instances are skipped
    P:epoch              STR    a token per data set: when it changes, Redis lost its data
    P:stats:<instance>   HASH   that process's counters, refreshed by every heartbeat
    P:hist:<group>       ZSET   history (offset -> offset, expiry, payload) for history groups;
    P:hseq:<group>, P:hepoch:<group>  its offset counter and epoch

Every list entry starts with its deadline: 15 ASCII digits of milliseconds on the Redis server
clock, so a reader or a Lua script can drop expired entries without decoding them. An inbox
entry continues with a msgpack envelope ``[kind, target, payload]``.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgpack

DEADLINE_DIGITS = 15
DIRECT, GROUP, CONTROL = 0, 1, 2
ADD, DISCARD, FLUSH = "add", "discard", "flush"


class Keys:
    """Key names under one prefix."""

    __slots__ = ("alive", "epoch", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix + ":"
        self.alive = self.prefix + "alive"
        self.epoch = self.prefix + "epoch"

    def inbox(self, instance: str) -> str:
        return f"{self.prefix}inbox:{instance}"

    def channel(self, name: str) -> str:
        return f"{self.prefix}chan:{name}"

    def group(self, name: str) -> str:
        return f"{self.prefix}group:{name}"

    def group_meta(self, name: str) -> str:
        return f"{self.prefix}gmeta:{name}"

    def group_members(self, name: str) -> str:
        return f"{self.prefix}members:{name}"

    def history(self, group: str) -> list[str]:
        """The history zset, offset counter and epoch of ``group``."""
        return [
            f"{self.prefix}hist:{group}",
            f"{self.prefix}hseq:{group}",
            f"{self.prefix}hepoch:{group}",
        ]

    def stats(self, instance: str) -> str:
        return f"{self.prefix}stats:{instance}"

    def pattern(self) -> str:
        return self.prefix + "*"


def instance_of(channel: str) -> str | None:
    """The instance token of a process-specific name (``a.b.<token>!local``), else None."""
    bang = channel.find("!")
    if bang < 0:
        return None
    return channel[channel.rfind(".", 0, bang) + 1 : bang]


def member_of(instance: str) -> str:
    """The group-set member standing for every channel of ``instance``."""
    return instance + "!"


def shard(name: str, hosts: int) -> int:
    """The host index for a group or channel: stable across processes and restarts."""
    if hosts == 1:
        return 0
    return zlib.crc32(name.encode()) % hosts


def channel_shard_key(channel: str) -> str:
    """What decides a channel's host: a process's channels all live with its inbox."""
    bang = channel.find("!")
    return channel if bang < 0 else channel[: bang + 1]


def envelope(kind: int, target: str, payload: bytes | list[str] | None) -> bytes:
    """The msgpack envelope of an inbox entry (after its deadline)."""
    data: bytes = msgpack.packb([kind, target, payload], use_bin_type=True)
    return data


def split_entry(entry: bytes) -> tuple[int, bytes]:
    """(deadline in ms, rest) of a list entry."""
    return int(entry[:DEADLINE_DIGITS]), entry[DEADLINE_DIGITS:]


POSITION_WIDTH = 40


def split_position(rest: bytes) -> tuple[str | None, bytes]:
    """(history position or None, payload) of an entry's rest (see group_send.lua)."""
    if rest[:1] != b"P":
        return None, rest
    return rest[1 : 1 + POSITION_WIDTH].decode().strip(), rest[1 + POSITION_WIDTH :]


def split_history_member(member: bytes) -> tuple[int, bytes]:
    """(offset, payload) of a history zset member (offset, expiry, payload)."""
    return int(member[:15]), member[30:]


def open_envelope(data: bytes) -> tuple[int, str, Any]:
    kind, target, payload = msgpack.unpackb(data, raw=False)
    return int(kind), str(target), payload
