"""``tidings worker`` processes on a real redis-server: exactly once, lossless stop, SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import pytest

from .conftest import queued

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]


async def send_jobs(layer, channel: str, ids, **extra) -> None:
    for i in ids:
        await layer.send(channel, {"type": "job.run", "id": i, **extra})


async def test_each_job_runs_exactly_once_across_worker_processes(workers, producer, job_log):
    procs = [workers("jobs", "sjobs", concurrency=2) for _ in range(3)]
    await send_jobs(producer, "jobs", range(300))
    await send_jobs(producer, "sjobs", range(1000, 1300))
    await asyncio.to_thread(job_log.wait_for, "done", 600)
    await asyncio.sleep(0.3)  # a duplicate, if any, would land now
    done = job_log.counts("done")
    assert set(done) == set(range(300)) | set(range(1000, 1300))
    assert max(done.values()) == 1
    assert len({pid for _, pid in job_log.entries("done")}) >= 2  # the work was shared
    for proc in procs:
        proc.signal(signal.SIGTERM)
    assert [proc.wait() for proc in procs] == [0, 0, 0]


async def test_a_worker_never_takes_more_jobs_than_it_is_handling(workers, producer, job_log):
    workers("jobs", concurrency=2)
    await send_jobs(producer, "jobs", range(10), sleep=1.5)
    await asyncio.to_thread(job_log.wait_for, "start", 2)
    await asyncio.sleep(0.5)
    assert len(job_log.ids("start")) == 2
    assert await queued(producer, "jobs") == 8


async def test_sigterm_mid_run_finishes_jobs_in_hand_and_leaves_the_rest(
    workers, producer, job_log
):
    procs = [workers("jobs", concurrency=2) for _ in range(2)]
    await send_jobs(producer, "jobs", range(40), sleep=0.5)
    await asyncio.to_thread(job_log.wait_for, "start", 8)
    for proc in procs:
        proc.signal(signal.SIGTERM)
    at_signal = len(job_log.ids("start"))
    assert [proc.wait() for proc in procs] == [0, 0]
    started, done = job_log.ids("start"), job_log.ids("done")
    assert sorted(done) == sorted(started)  # every job in hand was finished
    # No job taken after the signal (4 slots, each 0.5 s into a job; slack for a slow box).
    assert len(started) <= at_signal + 2
    assert await queued(producer, "jobs") == 40 - len(started)  # the rest wait in Redis
    assert "Stopping: finishing" in procs[0].log

    workers("jobs", concurrency=4)  # another worker takes what was left
    await asyncio.to_thread(job_log.wait_for, "done", 40)
    assert sorted(job_log.ids("done")) == list(range(40))


async def test_sigterm_while_jobs_keep_arriving_loses_none(workers, producer, job_log):
    """Stopping cancels receives that Redis may be answering: those jobs are put back."""
    total = 1500
    procs = [workers("jobs", concurrency=4) for _ in range(2)]

    async def feed() -> None:
        for start in range(0, total, 50):
            await send_jobs(producer, "jobs", range(start, start + 50))
            await asyncio.sleep(0.01)

    feeding = asyncio.ensure_future(feed())
    await asyncio.to_thread(job_log.wait_for, "done", total // 3)
    for proc in procs:
        proc.signal(signal.SIGTERM)
    assert [proc.wait() for proc in procs] == [0, 0]
    await feeding
    workers("jobs", concurrency=4)
    await asyncio.to_thread(job_log.wait_for, "done", total)
    await asyncio.sleep(0.3)
    done = job_log.counts("done")
    assert set(done) == set(range(total))
    assert max(done.values()) == 1


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_sigkill_loses_only_the_jobs_in_hand(workers, producer, job_log, concurrency):
    victim = workers("jobs", concurrency=concurrency)
    await send_jobs(producer, "jobs", range(20), sleep=0.6)
    await asyncio.to_thread(job_log.wait_for, "start", concurrency + 2)
    victim.signal(signal.SIGKILL)
    victim.wait()
    in_hand = set(job_log.ids("start")) - set(job_log.ids("done"))
    assert 1 <= len(in_hand) <= concurrency

    workers("jobs", concurrency=4)
    # Everything else runs; if a job was also on the wire, fewer: then stop waiting at 20 s.
    with contextlib.suppress(AssertionError):
        await asyncio.to_thread(job_log.wait_for, "done", 20 - len(in_hand), 20)
    await asyncio.sleep(0.5)
    done = job_log.counts("done")
    lost = set(range(20)) - set(done)
    # The jobs it was handling, and nothing beyond one per slot (a slot between two jobs
    # may have had one on the wire from Redis: the only other thing a SIGKILL can cost).
    assert in_hand <= lost and len(lost) <= concurrency
    assert max(done.values()) == 1


async def test_a_failing_job_is_logged_and_the_next_one_runs(workers, producer, job_log):
    proc = workers("jobs", "sjobs")
    for channel, base in (("jobs", 0), ("sjobs", 100)):
        await producer.send(channel, {"type": "job.run", "id": base + 1})
        await producer.send(channel, {"type": "job.run", "id": base + 2, "fail": True})
        await producer.send(channel, {"type": "job.run", "id": base + 3})
        await producer.send(channel, {"type": "job.nothing", "id": base + 4})
        await producer.send(channel, {"type": "job.run", "id": base + 5})
    await asyncio.to_thread(job_log.wait_for, "done", 6)
    assert sorted(job_log.ids("done")) == [1, 3, 5, 101, 103, 105]
    for channel in ("jobs", "sjobs"):
        await asyncio.to_thread(proc.wait_for_log, f"'job.nothing' on channel '{channel}'")
    log = proc.log
    assert "Traceback" in log
    assert "RuntimeError: job 2 failed on purpose" in log
    assert "RuntimeError: job 102 failed on purpose" in log
    assert "NoHandler" in log and "job_nothing" in log
    assert log.count("failed; going on with the next job") == 4
    assert proc.process.poll() is None
    proc.signal(signal.SIGINT)
    assert proc.wait() == 0
    assert "4 failed" in proc.log


async def test_an_idle_worker_stops_at_once_and_later_jobs_stay_queued(workers, producer, job_log):
    proc = workers("jobs", "sjobs", concurrency=3)
    await asyncio.sleep(0.3)  # every slot waits in a receive
    began = time.monotonic()
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert time.monotonic() - began < 5
    await send_jobs(producer, "jobs", range(5))
    await asyncio.sleep(0.3)
    assert await queued(producer, "jobs") == 5
    assert job_log.ids("start") == []


async def test_two_signals_at_once_are_one_stop_a_later_one_abandons(workers, producer, job_log):
    # Ctrl-C in a terminal reaches the whole process group; a supervisor may signal too.
    first = workers("jobs")
    await send_jobs(producer, "jobs", [1], sleep=2)
    await asyncio.to_thread(job_log.wait_for, "start", 1)
    first.signal(signal.SIGINT)
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert job_log.ids("done") == [1]

    second = workers("jobs")
    await send_jobs(producer, "jobs", [2], sleep=30)
    await asyncio.to_thread(job_log.wait_for, "start", 2)
    second.signal(signal.SIGTERM)
    await asyncio.sleep(1.5)
    second.signal(signal.SIGTERM)
    assert second.wait(10) == 1
    assert "1 job(s) in hand abandoned" in second.log
    assert job_log.ids("done") == [1]
