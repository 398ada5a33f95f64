"""The resharding-safe group send proposed in docs/redis-design.md, checked slot state by
slot state on a real cluster: it delivers to every member or writes nothing and says retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ..cluster_servers import Cluster, start_cluster

pytestmark = pytest.mark.timeout(60)
SCRIPT = (Path(__file__).parent / "stream_mailbox_prototype.lua").read_text()
GROUP, ALIVE = "P:{t7}:group:g", "P:{t7}:alive"
MEMBERS = ("i1", "i2", "i3")
BOXES = [f"P:{{t7}}:mbox:{m}" for m in MEMBERS]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = start_cluster(3)  # its own: this test moves a slot
    yield cluster
    cluster.stop()


def run(node: redis.Redis, asking: bool = False) -> list[object]:
    if asking:
        node.execute_command("ASKING")
    reply = node.eval(SCRIPT, 2, GROUP, ALIVE, "entry", 0)
    return [x.decode() if isinstance(x, bytes) else x for x in reply]


def lengths(node: redis.Redis, keys: list[str]) -> list[int]:
    node.execute_command("ASKING")  # read an importing slot's keys too
    pipe = node.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("ASKING")
        pipe.exists(key)
    return [int(x) for x in pipe.execute()[1::2]]


def test_group_send_delivers_whole_or_not_at_all_while_its_slot_moves(cluster):
    nodes = {port: redis.Redis(port=port, single_connection_client=True) for port in cluster.ports}
    slot = int(nodes[cluster.ports[0]].execute_command("CLUSTER", "KEYSLOT", GROUP))
    owner = _owner(nodes[cluster.ports[0]], slot)
    source = nodes[owner]
    target = nodes[next(p for p in cluster.ports if p != owner)]
    source.zadd(GROUP, {m: 0 for m in MEMBERS})
    source.zadd(ALIVE, {m: 10**15 for m in MEMBERS})
    for box in BOXES:  # what each live reader does on its heartbeat
        source.xadd(box, {"e": "init"})

    assert run(source) == ["ok", 3, 0]

    target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.cluster("MYID"))
    source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.cluster("MYID"))
    port = target.connection_pool.connection_kwargs["port"]

    def migrate(*keys: str) -> None:
        source.execute_command("MIGRATE", "127.0.0.1", port, "", 0, 5000, "KEYS", *keys)

    # 1. one member's mailbox moved, the group not yet: the source refuses, writes nothing
    migrate(BOXES[1])
    before = [source.xlen(BOXES[0]), source.xlen(BOXES[2])]
    assert run(source) == ["retry", "i2"]
    assert [source.xlen(BOXES[0]), source.xlen(BOXES[2])] == before

    # 2. group and alive moved, one mailbox still on the source: the target refuses and
    #    creates nothing (a list-based send would have made a second mailbox here)
    migrate(GROUP, ALIVE)
    assert run(target, asking=True) == ["retry", "i1"]
    assert lengths(target, [BOXES[0], BOXES[2]]) == [0, 0]

    # 3. the rest moves without BUSYKEY, and the send goes through on the new owner
    migrate(BOXES[0], BOXES[2])
    for node in nodes.values():
        node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target.cluster("MYID"))
    assert run(target) == ["ok", 3, 0]
    assert [target.xlen(box) for box in BOXES] == [3, 3, 3]  # init, step 0, step 3


def _owner(node: redis.Redis, slot: int) -> int:
    """The port of the master that owns ``slot``."""
    for start, end, master, *_ in node.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(master[1])
    raise AssertionError(f"no master owns slot {slot}")
