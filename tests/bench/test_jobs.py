"""The job-queue scenario at tiny sizes: whole worker processes, counted from what ran."""

from __future__ import annotations

import pytest

from tidings.bench import jobs

pytestmark = [pytest.mark.timeout(180), pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def idle(monkeypatch):
    monkeypatch.setenv("TIDINGS_BENCH_IDLE", "2")


async def test_tidings_worker_runs_every_job_once(redis_server, idle):
    outcome = await jobs.job_queue("tidings", redis_server.url, 200)
    assert (outcome.received, outcome.duplicates, outcome.check) == (200, 0, "ok")
    assert outcome.rate > 0 and outcome.unit == "jobs/s"


async def test_runworker_contender_runs_and_is_counted(redis_server, idle):
    outcome = await jobs.job_queue("runworker-tidings", redis_server.url, 100)
    assert (outcome.received, outcome.duplicates) == (100, 0)


async def test_sigkill_of_a_tidings_worker_loses_at_most_the_job_in_hand(redis_server, idle):
    outcome = await jobs.job_queue("tidings", redis_server.url, 90, kill=True)
    assert outcome.expected - outcome.received <= 1
    assert outcome.duplicates == 0
