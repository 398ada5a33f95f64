"""A Redis Cluster master dies mid-traffic (SIGKILL, by pid, a server this test started):
its replica is promoted (node timeout 1 s) and tidings' traffic resumes by itself.

A sender process makes a group_send to a group whose members live in two receiver
processes, and a send to one receiver's channel, every 10 ms (``traffic.py``). Every
delivery is counted (``harness.py``):

- a send that returned is delivered exactly once, or lost only if the old master had
  acknowledged it and not yet replicated it: Redis replicates asynchronously, so only
  sends made just before the kill may be lost (the test allows the last second before the
  kill, and prints how many);
- a send during the switch raises ``BackendUnavailable`` or succeeds, within the layer's
  timeout plus a margin: it never hangs;
- nothing arrives twice, nothing arrives that was not sent;
- delivery resumes within ``RESUME_WITHIN`` seconds of the kill, and runs to the end.

Then the killed node is started again (same port, same nodes.conf): it rejoins as a
replica, and traffic goes on undisturbed.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tidings.testing.cluster import Cluster

from .harness import Tally, Traffic, keys_like
from .traffic import TIMEOUT

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]
SECONDS = 10.0  # of traffic; the kill comes after KILL_AT
KILL_AT = 1.5
RESUME_WITHIN = 5.0  # failover measured at ~2 s with node-timeout 1 s; generous for load
TASKS = 4  # concurrent senders in the sending process, as in an app
UNREPLICATED_WINDOW = 1.0  # a lost send must have been made at most this long before the kill


def group_slot(cluster: Cluster, group: str) -> int:
    found = keys_like(cluster, f"*group:{group}")
    require(len(found) == 1, f"expected one key for group {group!r}: {found}")
    return next(iter(found.values()))


def require(condition: object, message: str) -> None:
    """A failure no xfail marker covers (``pytest.fail``, not an AssertionError)."""
    if not condition:
        pytest.fail(message)


def check(tally: Tally, killed_at: float) -> None:
    print("\n" + tally.summary())
    print("\n".join(tally.distinct_errors()))
    if tally.lost:
        print(f"lost deliveries were sent at {tally.lost_sent_at()} s (kill at {killed_at} s)")
    failing = [r for r in tally.raised if r[2] != "BackendUnavailable"]
    require(not failing, f"a send raised something else than BackendUnavailable: {failing[:3]}")
    require(tally.slowest < TIMEOUT + 2, f"a send took {tally.slowest:.2f}s: it hung")
    require(not tally.unsent, f"received but never sent: {tally.unsent[:10]}")
    early = [t for t in tally.lost_sent_at() if not killed_at - UNREPLICATED_WINDOW <= t]
    late = [t for t in tally.lost_sent_at() if t > killed_at]
    require(
        not early and not late,
        f"lost deliveries outside the unreplicated window before the kill at "
        f"{killed_at:.2f}s: sent at {early + late}\n{tally.logs}",
    )
    late_raise = [r[:2] + r[4:] for r in tally.raised if r[4] > killed_at + RESUME_WITHIN]
    require(not late_raise, f"sends still raise {RESUME_WITHIN}s after the kill: {late_raise[:5]}")
    require(
        tally.longest_gap < RESUME_WITHIN,
        f"delivery stopped for {tally.longest_gap:.2f}s\n{tally.logs}",
    )
    require(len(tally.received) > 0.9 * len(tally.due), "traffic did not run to the end")
    # last, and the only plain assert: the one known, intermittent defect (see the marker)
    assert not tally.duplicates, f"delivered twice: {tally.duplicates[:10]}\n{tally.logs}"


async def test_traffic_resumes_after_a_master_is_killed_and_its_replica_takes_over(
    redis_cluster_with_replicas: Cluster,
) -> None:
    cluster = redis_cluster_with_replicas
    traffic = Traffic(cluster.cluster_url, seconds=SECONDS, every=0.02, tasks=TASKS)
    try:
        slot = group_slot(cluster, traffic.group)
        victim = cluster.owner(slot)
        began = traffic.go()
        await asyncio.sleep(KILL_AT)
        killed_at = time.monotonic() - began
        cluster.kill(victim)
        promoted = await asyncio.to_thread(cluster.wait_for_owner, slot, victim)
        failover = time.monotonic() - began - killed_at
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.restart, victim)  # rejoins as a replica
        restarted_at = time.monotonic() - began
        tally = await asyncio.to_thread(traffic.finish)
    finally:
        traffic.stop()
    print(
        f"\nkilled master {victim} at {killed_at:.2f}s; replica {promoted} served the slot "
        f"{failover:.2f}s later; old node restarted at {restarted_at:.2f}s"
    )
    require(restarted_at < SECONDS - 1, "the restart came after the traffic: nothing tested")
    check(tally, killed_at)


async def test_a_master_restarted_before_its_replica_takes_over_comes_back_empty(
    redis_cluster_with_replicas: Cluster,
) -> None:
    """Killed and started again at once (no persistence, as in these tests and many
    caches): the node keeps its slots but not its data, and its replica resyncs to the
    empty set. Everything the slot held is gone, memberships included: the processes
    must notice (the partition's epoch) and announce their memberships again, so group
    traffic resumes; what was queued at that moment is lost, which the test counts."""
    cluster = redis_cluster_with_replicas
    traffic = Traffic(cluster.cluster_url, seconds=SECONDS, every=0.02, tasks=TASKS)
    try:
        slot = group_slot(cluster, traffic.group)
        victim = cluster.owner(slot)
        began = traffic.go()
        await asyncio.sleep(KILL_AT)
        killed_at = time.monotonic() - began
        await asyncio.to_thread(cluster.restart, victim)
        assert cluster.owner(slot) == victim, "its replica took over: not this case"
        back = time.monotonic() - began
        tally = await asyncio.to_thread(traffic.finish)
    finally:
        traffic.stop()
    print(f"\nrestarted master {victim} at {killed_at:.2f}s, back at {back:.2f}s")
    print(tally.summary())
    if tally.lost:
        print(
            f"lost deliveries were sent at {tally.lost_sent_at()[0]:.2f}-"
            f"{tally.lost_sent_at()[-1]:.2f}s"
        )
    # what was sent after the node was back (plus the epoch check's interval) must arrive
    after = {(k, n) for (k, n), t in tally.sent_at.items() if t > back + RESUME_WITHIN / 2}
    lost_after = [(r, k, n) for r, k, n in tally.lost if (k, n) in after]
    assert after, "no traffic after the restart: nothing tested"
    assert not lost_after, f"lost after the restart: {lost_after[:10]}\n{tally.logs}"
    assert not tally.duplicates and not tally.unsent
    assert tally.slowest < TIMEOUT + 2
