"""RedisChannelLayer on a real 3-master Redis Cluster: processes whose mailboxes live on
different masters, every script refused by Redis if it touched another slot."""

from __future__ import annotations

import asyncio
import json
from importlib import resources

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tidings.layers.redis import RedisChannelLayer
from tidings.layers.redis.keys import Keys
from tidings.layers.redis.partitions import SLOTS, key_slot

from ..cluster_servers import Cluster, redis_cli
from ..redis.procs import Peer

pytestmark = pytest.mark.timeout(120)
SCRIPTS = resources.files("tidings.layers.redis").joinpath("scripts")


def slot_owners(cluster: Cluster) -> list[int]:
    """The port of the master owning each slot, from CLUSTER SLOTS."""
    owners = [0] * SLOTS
    reply = redis_cli("-p", str(cluster.nodes[0].port), "--json", "CLUSTER", "SLOTS")
    for start, end, master, *_ in json.loads(reply):
        for slot in range(start, end + 1):
            owners[slot] = int(master[1])
    return owners


def master_of_partition(keys: Keys, partition: int, owners: list[int]) -> int:
    return owners[key_slot(keys.alive(partition))]


def url(cluster: Cluster) -> str:
    return f"redis+cluster://127.0.0.1:{cluster.nodes[0].port}"


async def test_a_group_spanning_processes_homed_on_different_masters(redis_cluster):
    """Two real processes whose home mailboxes live on two different masters join a group
    kept on the third: group sends (one script on the group's master, one entry into each
    process's mailbox there) and direct sends (each to its home master) all arrive."""
    prefix = "xmaster"
    keys = Keys(prefix, 16)
    owners = slot_owners(redis_cluster)
    masters = sorted(set(owners))
    assert len(masters) == 3
    by_master = {
        port: [p for p in range(16) if master_of_partition(keys, p, owners) == port]
        for port in masters
    }
    group = next(
        f"room{n}" for n in range(1000) if keys.partition(f"room{n}") in by_master[masters[2]]
    )
    count = 10
    peers = [
        Peer(
            "members",
            url(redis_cluster),
            prefix,
            group,
            1,
            2 * count,
            options={"home_partition": by_master[port][0]},
        )
        for port in masters[:2]
    ]
    sender = RedisChannelLayer(hosts=[url(redis_cluster)], prefix=prefix)
    try:
        channels = [peer.expect("READY")[0] for peer in peers]
        homes = {
            master_of_partition(keys, keys.partition(c.split(".")[-1].split("!")[0]), owners)
            for c in channels
        }
        assert homes == set(masters[:2])  # the two processes are homed on two masters
        for i in range(count):
            report = await sender.group_send(group, {"type": "t", "i": i})
            assert (report.members, report.delivered) == (2, 2)
        for i in range(count, 2 * count):
            for channel in channels:
                await sender.send(channel, {"type": "t", "i": i})
        for peer, channel in zip(peers, channels, strict=True):
            result = peer.expect("RESULT", 60)
            assert result[channel] == list(range(2 * count))  # all, once, in order
    finally:
        for peer in peers:
            peer.kill()
        await sender.flush()
        await sender.close()


@pytest.mark.parametrize(
    "name", sorted(e.name for e in SCRIPTS.iterdir() if e.name.endswith(".lua"))
)
async def test_every_script_is_refused_if_it_touches_another_slot(redis_cluster, name):
    """Each script as shipped, plus one undeclared access to a key of another slot on the
    same master, is refused by Redis (its shebang makes Redis check); the same access to
    a key of its own slot is not. Slot luck cannot make a script pass on a Cluster."""
    source = SCRIPTS.joinpath(name).read_text()
    shebang, _, body = source.partition("\n")
    owners = slot_owners(redis_cluster)
    keys = Keys("strict", 16)
    own = keys.alive(0)
    port = owners[key_slot(own)]
    foreign = next(  # another slot, same master: only the shebang makes Redis refuse it
        k
        for k in (f"strict:{{x{n}}}:k" for n in range(10_000))
        if owners[key_slot(k)] == port and key_slot(k) != key_slot(own)
    )
    node = Redis(host="127.0.0.1", port=port)
    try:
        with pytest.raises(ResponseError, match="same slot"):
            await node.eval(f"{shebang}\nredis.call('EXISTS', '{foreign}')\n{body}", 1, own)
        same = own.replace("alive", "other")
        assert await node.eval(f"{shebang}\nreturn redis.call('EXISTS', '{same}')", 1, own) == 0
    finally:
        await node.aclose()


async def test_layer_on_cluster_puts_each_partition_on_its_master(redis_cluster):
    """16 partitions, 5/5/6 over three masters; each reader's own connection goes to the
    master owning its partition's slot."""
    layer = RedisChannelLayer(hosts=[url(redis_cluster)], prefix="spread")
    try:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "t"})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "t"
        owners = slot_owners(redis_cluster)
        per_master: dict[int, int] = {}
        for reader in layer.readers:
            assert reader.task is not None and not reader.task.done()
            port = master_of_partition(layer.keys, reader.index, owners)
            assert reader.node == ("127.0.0.1", port)
            per_master[port] = per_master.get(port, 0) + 1
        assert sorted(per_master.values()) == [5, 5, 6]
    finally:
        await layer.flush()
        await layer.close()
