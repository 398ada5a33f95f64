"""A Sentinel failover mid-traffic, end to end: a receiving process configured by
``TIDINGS_URL=redis+sentinel://...``, a sender here configured by channels_redis's dict.

Counted: every group_send either raised ``BackendUnavailable`` or returned within its
timeout; every message is received at most once; nothing arrives that was not sent; the
longest gap in delivery is measured and bounded; the membership is there after.

Two cases: steady traffic, and a receiver stalled (SIGSTOP) across the failover, so a
backlog sits in its inbox on both masters when it wakes up on the old one (without the
handover in sentinel.py it was delivered twice, and sends that reached the old master
after the receiver left it were lost).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tidings.exceptions import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer

from ..cluster_servers import SentinelSet, _ask

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
RATE = 0.01  # seconds between sends
SEND_FOR = 5.0  # seconds of traffic; the failover starts after 1.5 s
RESUME_WITHIN = 6.0  # the longest delivery gap allowed (measured: see docs)


def receiver(url: str, group: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TIDINGS_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.failover_receiver", group, "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def expect(process: subprocess.Popen[str], tag: str) -> object:
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            err = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"receiver ended before {tag}: {err[-4000:]}")
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1 :])


@pytest.mark.parametrize("stall", [False, True], ids=["steady", "receiver-stalled"])
async def test_traffic_follows_a_sentinel_failover(
    redis_sentinel: SentinelSet, stall: bool
) -> None:
    group = redis_sentinel
    url = f"redis+sentinel://127.0.0.1:{group.sentinel_port}/{group.master_name}?capacity=5000"
    peer = receiver(url, "room")
    layer = RedisChannelLayer(
        hosts={"sentinels": group.sentinels, "master_name": group.master_name}, timeout=2
    )
    try:
        await asyncio.to_thread(expect, peer, "READY")
        old_master = group.current_master_port()
        sent_ok: list[int] = []
        raised: list[int] = []
        reports = []
        started = time.monotonic()
        failed_over_at = None
        n = 0
        stopped = None
        while time.monotonic() - started < SEND_FOR:
            if stall and stopped is None and time.monotonic() - started > 1.0:
                stopped = True
                os.kill(peer.pid, signal.SIGSTOP)
            if stopped and time.monotonic() - started > 3.5:
                stopped = False
                os.kill(peer.pid, signal.SIGCONT)
            if failed_over_at is None and time.monotonic() - started > 1.5:
                failed_over_at = time.monotonic() - started
                _ask(group.sentinel_port, "SENTINEL", "FAILOVER", group.master_name)
            n += 1
            t = time.monotonic()
            try:
                report = await layer.group_send("room", {"type": "m", "n": n})
            except BackendUnavailable:
                raised.append(n)
            else:
                sent_ok.append(n)
                reports.append(report)
            assert time.monotonic() - t < 2 + 1.5, "a send must end within its timeout"
            await asyncio.sleep(RATE)
        assert group.current_master_port() != old_master, "the failover did not happen"
        for _ in range(50):  # the stop message, once the receiver is reachable
            try:
                await layer.group_send("room", {"type": "stop"})
                break
            except BackendUnavailable:
                await asyncio.sleep(0.2)
        result = await asyncio.to_thread(expect, peer, "DONE")
        moves = sum(w.moves for w in layer.connections._watches.values())
    finally:
        await layer.close()
        if stopped:
            os.kill(peer.pid, signal.SIGCONT)
        if peer.poll() is None:
            peer.kill()
        peer.wait(10)
    assert isinstance(result, dict)
    got, at = result["got"], result["at"]
    lost = sorted(set(sent_ok) - set(got))
    gaps = [b - a for a, b in itertools.pairwise(at)]
    longest = max(gaps) if gaps else float("inf")
    print(
        f"\nsent {n}: ok {len(sent_ok)}, raised {len(raised)}; received {len(got)} "
        f"(unique {len(set(got))}); lost {len(lost)} {lost[:20]}; longest gap {longest:.2f}s; "
        f"receiver followed {result['moves']} move(s), sender {moves}; "
        f"failover at {failed_over_at:.2f}s; repeats skipped {result['repeats']}, "
        f"drained from the old master {result['drained']}; membership_reset reports "
        f"{sum(r.membership_reset for r in reports)}"
    )
    # Without following, both would stay on the old master until it is demoted (~11 s
    # after the failover, beyond this test) and then lose what it held.
    assert result["moves"] == 1 and moves == 1, "a process did not follow the new master"
    assert len(got) == len(set(got)), "a message was delivered twice"
    assert set(got) <= set(sent_ok) | set(raised), "a message arrived that was never sent"
    assert not lost, f"{len(lost)} sends returned but never arrived"
    assert longest < RESUME_WITHIN, f"delivery stopped for {longest:.2f}s"
    assert got[-1] >= sent_ok[-1] - 5, "traffic did not resume to the end"
    assert len(result["members"]) == 1, "the receiver's membership is gone after the failover"


async def test_an_idle_senders_first_send_after_a_failover_still_arrives(
    redis_sentinel: SentinelSet,
) -> None:
    """A sender idle across the failover writes its next message on its old connection,
    to the old master (its check of the sentinels runs beside that send, never before
    it), after the receiver has left that master: the receiver's drain of the old
    master delivers it."""
    group = redis_sentinel
    url = f"redis+sentinel://127.0.0.1:{group.sentinel_port}/{group.master_name}"
    peer = receiver(url, "room")
    layer = RedisChannelLayer(
        hosts={"sentinels": group.sentinels, "master_name": group.master_name}, timeout=2
    )
    try:
        await asyncio.to_thread(expect, peer, "READY")
        await layer.group_send("room", {"type": "m", "n": 1})
        old = group.current_master_port()
        _ask(group.sentinel_port, "SENTINEL", "FAILOVER", group.master_name)
        # the receiver follows within ~1.5 s; a few seconds more, and the old master is
        # still writable (demoted ~11 s after the failover)
        await asyncio.sleep(5)
        assert group.current_master_port() != old
        assert _ask(old, "ROLE").startswith("master")
        await layer.group_send("room", {"type": "m", "n": 2})
        await asyncio.sleep(1)
        await layer.group_send("room", {"type": "m", "n": 3})
        await layer.group_send("room", {"type": "stop"})
        result = await asyncio.to_thread(expect, peer, "DONE")
    finally:
        await layer.close()
        if peer.poll() is None:
            peer.kill()
        peer.wait(10)
    assert isinstance(result, dict)
    print(f"\nreceived {result['got']}, drained from the old master {result['drained']}")
    assert result["got"] == [1, 2, 3]
    assert result["drained"] == 1, "message 2 did not go to the old master: nothing tested"
