"""A slot moves from one master to another mid-traffic, the way ``redis-cli --cluster
reshard`` moves it (``Cluster.move_slot``: SETSLOT IMPORTING / MIGRATING, MIGRATE in
batches, SETSLOT NODE), and tidings loses nothing, duplicates nothing and refuses nothing.

The traffic is ``traffic.py``'s: a sender process, every 10 ms, a group_send to a group
whose members live in two receiver processes and a send to one receiver's channel. The
slot moved is the one holding

- ``group``: the group's partition (its keys and the member mailboxes it writes into);
- ``mailbox``: a receiver's home partition (the mailbox its direct messages go to);
- ``backlog``: the group's partition while one receiver is stopped (SIGSTOP), so that its
  mailbox holds a backlog when it moves and the receiver reads it on the new master.

Batches of 2 keys with 50 ms between them keep the slot half moved for a while, so sends
land in every state: before, while keys are split between source and target, after.
A resharding is something Redis itself survives without losing a write, so every send
must return (no ``BackendUnavailable``: a send the caller has to retry is a refused send)
and every delivery must arrive exactly once. The steps of the move are printed with their
times and those of any refused send, so a failure names the interleaving.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from tidings.exceptions import ConfigurationError
from tidings.layers.redis.keys import instance_of
from tidings.testing import start_cluster
from tidings.testing.cluster import Cluster

from .harness import Traffic, keys_like
from .test_cluster_failover import NOT_READY, require_cluster_support
from .traffic import TIMEOUT

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]
SECONDS = 5.0
MOVE_AT = 1.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = start_cluster(3)  # its own: the test moves a slot
    yield cluster
    cluster.stop()


def slot_to_move(cluster: Cluster, traffic: Traffic, what: str) -> int:
    (group_slot,) = set(keys_like(cluster, f"*group:{traffic.group}").values()) or {None}
    assert group_slot is not None, f"no key for group {traffic.group!r}"
    if what in ("group", "backlog"):
        return group_slot
    instance = instance_of(traffic.channels[0])
    mailboxes = keys_like(cluster, f"*box:{instance}")
    assert mailboxes, f"no mailbox key for receiver 0 (instance {instance})"
    home = {slot for slot in mailboxes.values() if slot != group_slot}
    # its home partition may be the group's (1 in 16): then that one slot holds both
    return home.pop() if home else group_slot


@pytest.mark.xfail(strict=True, raises=ConfigurationError, reason=NOT_READY)
@pytest.mark.parametrize("what", ["group", "mailbox", "backlog"])
async def test_a_slot_moved_mid_traffic_loses_and_duplicates_nothing(
    cluster: Cluster, what: str
) -> None:
    require_cluster_support(cluster)
    traffic = Traffic(cluster.cluster_url, seconds=SECONDS)
    stopped = traffic.receivers[0].process.pid if what == "backlog" else None
    steps: list[tuple[str, float]] = []
    try:
        slot = slot_to_move(cluster, traffic, what)
        source = cluster.owner(slot)
        target = next(p for p in cluster.master_ports() if p != source)
        began = traffic.go()
        await asyncio.sleep(MOVE_AT)
        if stopped:
            os.kill(stopped, signal.SIGSTOP)
            await asyncio.sleep(0.5)  # a backlog builds up in its mailbox

        def note(step: str) -> None:
            steps.append((step, round(time.monotonic() - began, 3)))

        moved = await asyncio.to_thread(cluster.move_slot, slot, target, 2, 0.05, note)
        if stopped:
            os.kill(stopped, signal.SIGCONT)
        assert cluster.owner(slot) == target
        tally = await asyncio.to_thread(traffic.finish)
    finally:
        if stopped and traffic.receivers[0].process.poll() is None:
            os.kill(stopped, signal.SIGCONT)
        traffic.stop()
    print(f"\nslot {slot} ({what}, {moved} keys) {source} -> {target}; steps {steps}")
    print(tally.summary())
    assert steps[-1][1] < SECONDS - 0.5, "the move outlasted the traffic: not mid-traffic"
    assert moved >= 2, "the slot held no keys to move: nothing tested"
    refused = [(r[0], r[1], r[2], r[3][:80], r[4]) for r in tally.raised]
    assert not refused, f"sends refused during the move (kind, n, error, text, at): {refused}"
    assert not tally.lost, f"lost: {tally.lost[:10]}\n{tally.logs}"
    assert not tally.duplicates, f"twice: {tally.duplicates[:10]}\n{tally.logs}"
    assert not tally.unsent
    assert tally.slowest < TIMEOUT + 2
