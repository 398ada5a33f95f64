"""Partitions and hash slots: the pure rules, checked against a real cluster's answers."""

from __future__ import annotations

import random
import zlib
from collections import Counter

import pytest
from redis.asyncio.cluster import RedisCluster

from tidings.layers.redis.partitions import (
    MAX_PARTITIONS,
    SLOTS,
    check_partitions,
    key_slot,
    partition_of,
    partition_tags,
)

from ..cluster_servers import redis_cli

KEYS = [
    "123456789",
    "P:{t3}:mbox:abcd",
    "P:{t3}:group:room-1",
    "{user1000}.following",
    "foo{}{bar}",  # an empty tag: the whole key is hashed
    "foo{{bar}}zap",  # the tag is "{bar"
    "foo{bar}{zap}",  # only the first tag counts
    "no-tag-at-all",
    "}{",
    "",
]


def test_key_slot_of_the_crc16_test_vector():
    assert key_slot("123456789") == 0x31C3 % SLOTS  # CRC-16/XMODEM check value


def test_key_slot_agrees_with_cluster_keyslot(redis_cluster):
    rng = random.Random(12)
    keys = KEYS + ["".join(rng.choices("ab{}:.!x0", k=rng.randint(1, 12))) for _ in range(40)]
    port = str(redis_cluster.ports[0])
    for key in keys:
        assert key_slot(key) == int(redis_cli("-p", port, "CLUSTER", "KEYSLOT", key)), key


@pytest.mark.parametrize("count", [1, 2, 3, 16, 100, MAX_PARTITIONS])
def test_each_partition_tag_hashes_into_its_own_slot_range(count):
    tags = partition_tags(count)
    assert len(tags) == len(set(tags)) == count
    for k, tag in enumerate(tags):
        assert key_slot("{" + tag + "}") * count // SLOTS == k


def test_partition_tags_never_change_between_versions():
    # They are part of every key name: a change would orphan every key of a running
    # deployment during a rolling upgrade.
    assert partition_tags(3) == ("t43", "t23", "t13")
    assert partition_tags(16)[:5] == ("t7", "t227", "t58", "t87", "t6")


async def test_sixteen_partitions_spread_evenly_over_three_masters(redis_cluster):
    client = RedisCluster.from_url(redis_cluster.url)
    try:
        await client.initialize()
        owners = Counter(
            client.get_node_from_key("{" + tag + "}x").port for tag in partition_tags(16)
        )
    finally:
        await client.aclose()
    assert sorted(owners.values()) == [5, 5, 6]


def test_partition_of_keeps_the_host_placement_of_sharded_hosts():
    """With one partition per host (several hosts), a group stays on the host the
    CRC-32 sharding of earlier versions chose."""
    for name in ("room-1", "notifications_42", "specific.abc!", "x" * 99):
        for count in (1, 2, 3, 7):
            expected = 0 if count == 1 else zlib.crc32(name.encode()) % count
            assert partition_of(name, count) == expected


@pytest.mark.parametrize("bad", [0, -1, MAX_PARTITIONS + 1, 2.0, True, "16", None])
def test_a_bad_partition_count_is_refused(bad):
    with pytest.raises(ValueError, match="partitions must be an int"):
        check_partitions(bad)
