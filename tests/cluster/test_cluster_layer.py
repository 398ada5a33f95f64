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
            got = peer.expect("RESULT", 60)[channel]
            # All, once; in order per kind. The group's messages come through this process's
            # mailbox in the group's partition, the direct ones through its home partition
            # (another master): two streams, two readers, so a direct send may overtake
            # an earlier group send (docs/redis-design.md, "Ordering"; batch_window makes
            # that likely: the group reader waits up to 1 ms between reads under load).
            assert sorted(got) == list(range(2 * count))
            assert [i for i in got if i < count] == list(range(count))
            assert [i for i in got if i >= count] == list(range(count, 2 * count))
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


def test_tidings_url_takes_the_cluster_form_and_its_options() -> None:
    from tidings.config import layer_from_url
    from tidings.layers.redis.deployments import ClusterHost

    layer = layer_from_url(
        "redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001?prefix=c&partitions=8"
    )
    host = layer.hosts[0]  # type: ignore[attr-defined]
    assert isinstance(host, ClusterHost)
    assert host.nodes == (("127.0.0.1", 7000), ("127.0.0.1", 7001))
    assert layer.partitions == 8 and layer.prefix == "c"  # type: ignore[attr-defined]
    assert "pw" not in repr(layer)


async def test_inspect_reads_every_master(redis_cluster):
    """tidings inspect on a Cluster: the processes, groups and mailboxes of all masters."""
    from tidings.layers.redis.introspection import snapshot

    layer = RedisChannelLayer(hosts=[url(redis_cluster)], prefix="insp", heartbeat_interval=0.2)
    try:
        channel = await layer.new_channel()
        groups = [f"g{n}" for n in range(12)]  # spread over the partitions
        for group in groups:
            await layer.group_add(group, channel)
        await layer.send("backlog.q", {"type": "t"})
        await asyncio.sleep(0.5)
        report = await snapshot(layer)
        assert [p["instance"] for p in report["processes"]] == [layer.instance]
        assert report["processes"][0]["pid"] > 0  # published from the home partition
        assert sorted(g["group"] for g in report["groups"]) == sorted(groups)
        assert {"key": layer.keys.channel("backlog.q"), "depth": 1} in report["queues"]
        assert sum(1 for q in report["queues"] if ":mbox:" in q["key"]) == 16
    finally:
        await layer.flush()
        await layer.close()


async def test_a_reader_follows_its_partition_to_another_master():
    """The slot of a process's home partition moves to another master (key by key, as
    ``redis-cli --cluster reshard`` does) while messages flow: the reader reconnects to the
    new owner by itself, and every message arrives once, in order."""
    from ..cluster_servers import ServerError, start_cluster

    try:
        cluster = start_cluster(masters=3)
    except ServerError as exc:
        pytest.fail(str(exc))
    receiver = RedisChannelLayer(hosts=[url(cluster)], prefix="move")
    sender = RedisChannelLayer(hosts=[url(cluster)], prefix="move")
    try:
        channel = await receiver.new_channel()
        home = receiver.keys.partition(receiver.instance)
        reader = receiver.readers[home]
        await sender.send(channel, {"type": "t", "i": 0})
        assert (await asyncio.wait_for(receiver.receive(channel), 5))["i"] == 0
        slot = key_slot(reader.key)
        source = slot_owners(cluster)[slot]
        assert reader.node == ("127.0.0.1", source)
        target = next(p for p in sorted(set(slot_owners(cluster))) if p != source)

        def ask(port: int, *command: str) -> str:
            return redis_cli("-p", str(port), *command).strip()

        ask(target, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", ask(source, "CLUSTER", "MYID"))
        ask(source, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", ask(target, "CLUSTER", "MYID"))
        sent = 1

        async def send_some(count: int) -> None:
            nonlocal sent
            for _ in range(count):
                await sender.send(channel, {"type": "t", "i": sent})
                sent += 1

        while keys := ask(source, "CLUSTER", "GETKEYSINSLOT", str(slot), "1").split():
            ask(source, "MIGRATE", "127.0.0.1", str(target), keys[0], "0", "5000")
            await send_some(5)  # mid-migration: some keys moved, some not
        for node in cluster.nodes:
            ask(node.port, "CLUSTER", "SETSLOT", str(slot), "NODE", ask(target, "CLUSTER", "MYID"))
        await send_some(10)
        got = [
            (await asyncio.wait_for(receiver.receive(channel), 10))["i"] for _ in range(sent - 1)
        ]
        assert got == list(range(1, sent))
        assert reader.node == ("127.0.0.1", target)
        assert receiver.statistics().reconnects >= 1
    finally:
        await receiver.close()
        await sender.close()
        cluster.stop()
