"""Which Redis keys an operation touches: pure rules (the bytes are ``entry.py``'s).

Words: a process's *mailbox* is its Redis stream; an *inbox* is one channel's local queue in
the process (``Hub``). Keys live in *partitions* (``partitions.py``): every key of partition
``p`` starts with ``P:{T}:`` (``P`` the layer's prefix, ``T`` the partition's hash tag), so
on a Redis Cluster all of a partition's keys share one hash slot and every script call,
whose keys all come from one partition, runs on one master::

    P:{T}:mbox:<instance>  STREAM one process's mailbox in this partition: entries (field e)
                                  for its channels (direct, group, control); a process has
                                  one in every partition, kept while it beats
    P:{T}:alive            ZSET   instance -> last heartbeat (ms); stale instances are skipped
    P:{T}:epoch            STR    a token per data set: when it changes, Redis lost its data
    P:{T}:stats:<instance> HASH   that process's counters (home partition only)
    P:{T}:chan:<name>      LIST   a normal channel (partition of the name): a worker queue
    P:{T}:group:<group>    ZSET   members: "<instance>!" for a process, or a normal channel
                                  name; score = membership deadline (ms, Redis server clock)
    P:{T}:gmeta:<group>    HASH   per member: how many of that process's channels are in the
                                  group, or a normal channel's capacity
    P:{T}:members:<group>  ZSET   presence: member channel -> membership deadline
    P:{T}:hist:<group>     ZSET   history (offset -> offset, expiry, payload);
    P:{T}:hseq:<group>, P:{T}:hepoch:<group>  its offset counter and epoch

A group's keys are in the group's partition; a direct send goes to the receiving process's
mailbox in that process's *home* partition; a group send to each member process's mailbox
in the *group's* partition (built by the script from its first key's ``{T}``).
"""

from __future__ import annotations

from .partitions import partition_of, partition_tags

MAILBOX = "mbox:"  # what follows a partition's base in a mailbox key (group_send.lua too)


class Keys:
    """Key names under one prefix, in ``partitions`` partitions."""

    __slots__ = ("bases", "partitions", "prefix")

    def __init__(self, prefix: str, partitions: int = 1) -> None:
        self.prefix = prefix + ":"
        self.partitions = partitions
        self.bases = tuple(f"{prefix}:{{{tag}}}:" for tag in partition_tags(partitions))

    def partition(self, name: str) -> int:
        """The partition of a group, a normal channel or an instance (its home)."""
        return partition_of(name, self.partitions)

    def alive(self, partition: int) -> str:
        return self.bases[partition] + "alive"

    def epoch(self, partition: int) -> str:
        return self.bases[partition] + "epoch"

    def mailbox(self, partition: int, instance: str) -> str:
        return self.bases[partition] + MAILBOX + instance

    def stats(self, partition: int, instance: str) -> str:
        return self.bases[partition] + "stats:" + instance

    def channel(self, name: str) -> str:
        return f"{self.bases[self.partition(name)]}chan:{name}"

    def group(self, name: str) -> str:
        return f"{self.bases[self.partition(name)]}group:{name}"

    def group_meta(self, name: str) -> str:
        return f"{self.bases[self.partition(name)]}gmeta:{name}"

    def group_members(self, name: str) -> str:
        return f"{self.bases[self.partition(name)]}members:{name}"

    def history(self, group: str) -> list[str]:
        """The history zset, offset counter and epoch of ``group``."""
        base = self.bases[self.partition(group)]
        return [f"{base}hist:{group}", f"{base}hseq:{group}", f"{base}hepoch:{group}"]


def instance_of(channel: str) -> str | None:
    """The instance token of a process-specific name (``a.b.<token>!local``), else None."""
    bang = channel.find("!")
    if bang < 0:
        return None
    return channel[channel.rfind(".", 0, bang) + 1 : bang]


def member_of(instance: str) -> str:
    """The group-set member standing for every channel of ``instance``."""
    return instance + "!"
