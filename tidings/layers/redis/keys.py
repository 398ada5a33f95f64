"""Which Redis keys and hosts an operation touches: pure rules (the bytes are ``entry.py``'s).

Words: a process's *mailbox* is its Redis list; an *inbox* is one channel's local queue in
the process (``Hub``). Keys (``P`` is the layer's prefix)::

    P:mailbox:<instance> LIST   entries for one process's channels (direct, group, control)
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

Every list holds entries of one format, built and parsed in ``entry.py`` (and by the Lua
expression ``entry.LUA_BUILD``).
"""

from __future__ import annotations

import zlib


class Keys:
    """Key names under one prefix."""

    __slots__ = ("alive", "epoch", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix + ":"
        self.alive = self.prefix + "alive"
        self.epoch = self.prefix + "epoch"

    def mailbox(self, instance: str) -> str:
        return f"{self.prefix}mailbox:{instance}"

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
    """What decides a channel's host: a process's channels all live with its mailbox."""
    bang = channel.find("!")
    return channel if bang < 0 else channel[: bang + 1]
