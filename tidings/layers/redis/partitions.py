"""Which partition a name belongs to, and each partition's hash tag. Pure, no I/O.

A *partition* is a set of keys that always live together: one hash slot on a Redis Cluster
(all its keys carry the same ``{tag}``), one host with client-side sharding, or everything
on a single Redis. Its number of partitions is fixed by configuration, never by the
topology, so key names do not change when slots move between masters.

Tags are chosen so that the partitions' slots are evenly spaced over the 16384 slots:
``redis-cli --cluster create`` gives each master one contiguous range, so evenly spaced
slots spread partitions evenly over masters. Naive tags (``{0}``, ``{1}``, ...) do not:
CRC16 of short sequential strings crowds a few slot ranges (Centrifugo measured half of a
16-node cluster idle with 32 such partitions).
"""

from __future__ import annotations

import zlib
from functools import cache

SLOTS = 16384


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM, the checksum Redis Cluster uses for key slots."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def key_slot(key: str | bytes) -> int:
    """The Redis Cluster hash slot of ``key`` (as ``CLUSTER KEYSLOT`` computes it).

    Only the part between the first ``{`` and the next ``}`` is hashed, if it is not empty.
    """
    raw = key.encode() if isinstance(key, str) else key
    start = raw.find(b"{")
    if start >= 0:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return crc16(raw) % SLOTS


CLUSTER_PARTITIONS = 16  # the default on a Cluster: spreads over up to 16 masters
MAX_PARTITIONS = 1024  # a mailbox reader per partition: more would cost connections, not speed


def check_partitions(count: object) -> int:
    """``count`` if it is a valid number of partitions, else ``ValueError``."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PARTITIONS:
        raise ValueError(
            f"partitions must be an int from 1 to {MAX_PARTITIONS}, got {count!r}; "
            "16 suits a cluster of up to 16 masters."
        )
    return count


@cache
def partition_tags(count: int) -> tuple[str, ...]:
    """One hash tag per partition: partition ``k``'s slot lies within 1/16 of a range's width
    of the centre of the k-th of ``count`` equal slot ranges. Evenly spaced points spread
    evenly over contiguous ranges, so each master of a cluster made by ``redis-cli --cluster
    create`` (equal contiguous ranges) owns its share of the partitions, give or take one.
    Deterministic: every process computes the same tags.

    Candidates ``t0, t1, ...`` are tried in order, each taking the empty range near whose
    centre it hashes (~20k CRC16s for 1024 partitions, a few hundred for 16).
    """
    check_partitions(count)
    tags: list[str | None] = [None] * count
    window = max(1, SLOTS // count // 16)
    missing = count
    n = 0
    while missing:
        tag = f"t{n}"
        slot = key_slot(tag.encode())
        k = slot * count // SLOTS
        centre = (2 * k + 1) * SLOTS // (2 * count)
        if abs(slot - centre) <= window and tags[k] is None:
            tags[k] = tag
            missing -= 1
        n += 1
    return tuple(tag for tag in tags if tag is not None)


def partition_of(name: str, count: int) -> int:
    """The partition of a group, a normal channel or an instance token.

    Same function as today's ``keys.shard`` (CRC-32 modulo), so a layout with ``count`` equal
    to the number of hosts keeps today's placement.
    """
    if count == 1:
        return 0
    return zlib.crc32(name.encode()) % count
