"""The benchmark code paths at tiny sizes: the harness must not lie about what it measured."""

from __future__ import annotations

from functools import partial

import pytest

from tidings import MemoryChannelLayer
from tidings.bench import crossproc, e2e, inproc, run
from tidings.bench.cli import render
from tidings.bench.results import Outcome

pytestmark = pytest.mark.timeout(120)


async def test_in_process_contenders_deliver_everything():
    floor = await inproc.bare_queue(20, 5)
    ours = await inproc.layer_fanout("tidings", MemoryChannelLayer(), 20, 5)
    for outcome in (floor, ours):
        assert (outcome.received, outcome.expected, outcome.check) == (100, 100, "ok")
        assert outcome.rate > 0


async def test_a_slow_contender_is_marked_partial_not_lost():
    class Slow(MemoryChannelLayer):
        async def receive(self, channel):
            import asyncio

            await asyncio.sleep(10)
            return await super().receive(channel)

    outcome = await inproc.layer_fanout("slow", Slow(), 5, 2, timeout=0.3)
    assert outcome.timed_out and outcome.check == "partial" and outcome.received == 0


@pytest.fixture
def idle(monkeypatch):
    monkeypatch.setenv("TIDINGS_BENCH_IDLE", "1")


async def test_cross_process_scenarios_on_tidings(redis_server, idle):
    url = redis_server.url
    fan = await crossproc.fanout("tidings", url, 10, 3, at_least=0)
    assert (fan.received, fan.expected, fan.duplicates) == (30, 30, 0) and fan.latencies
    queue = await crossproc.worker_queue("tidings", url, 50)
    assert (queue.received, queue.duplicates, queue.check) == (50, 0, "ok")
    p2p = await crossproc.point_to_point("tidings", url, 2, 5, echo_cpu=True)
    assert p2p.received == 10
    assert len(p2p.receivers_cpu) == 1 and p2p.cpu_per_1000  # the echo process's, the pinger's
    groups = await crossproc.small_groups("tidings", url, 20)
    assert groups.received == 20
    # 7 groups of 3 members over 2 receiver processes, 4 sends each, 5 concurrent senders:
    # every delivery counted, with its latency and the sender's CPU.
    rooms = await crossproc.concurrent_groups("tidings", url, 3, 7, 4, senders=5)
    assert (rooms.received, rooms.expected, rooms.check) == (84, 84, "ok")
    assert len(rooms.latencies) == 84 and rooms.cpu_per_1000 is not None
    assert len(rooms.receivers_cpu) == 2 and len(fan.receivers_cpu) == 2  # each worker's
    assert fan.cpu_per_1000 is not None


async def test_a_paced_row_sends_on_schedule_and_counts_latency_from_it(redis_server, idle):
    """80 sends at 400/s take ~0.2 s whatever the layer could do, every delivery is
    counted, and the row compares latencies (its ratio column says p99)."""
    url = redis_server.url
    paced = await crossproc.concurrent_groups("tidings", url, 2, 10, 8, senders=4, offered=400)
    assert (paced.received, paced.expected, paced.check) == (160, 160, "ok")
    assert paced.paced and "at 400/s" in paced.scenario
    assert 250 < paced.rate < 480, paced.rate  # held to the schedule, not as fast as it can
    peer = Outcome(paced.scenario, "peer", 2, 400.0, "u/s", 160, 160, paced=True)
    peer.latencies = [x * 2 for x in paced.latencies]
    assert "p99 0.50x" in render([paced, peer])


async def test_the_cpu_budget_accounts_for_every_process(redis_server, idle, monkeypatch):
    """``python -m tidings.bench.budget``: CPU per send of the sender, each receiver and
    Redis, for tidings and pubsub (a small scenario here; the real ones take seconds)."""
    from tidings.bench import budget

    small = (lambda kind, url: crossproc.concurrent_groups(kind, url, 2, 5, 3, senders=4), 2)
    monkeypatch.setitem(budget.SCENARIOS, "tiny", small)
    for kind in ("tidings", "pubsub"):
        found = await budget.measure("tiny", kind, redis_server.url)
        assert found.rate > 0 and found.sender > 0 and found.redis > 0, found
        assert len(found.receivers) == 2 and all(r > 0 for r in found.receivers), found
        assert found.total > found.sender and "µs each" in found.line()


def test_the_cpu_budget_command_refuses_an_unknown_scenario(capsys):
    from tidings.bench import budget

    with pytest.raises(SystemExit):
        budget.cli(["rooms3"])
    assert "choose from fanout10, rooms1, rooms10, p2p" in capsys.readouterr().err


def test_the_plan_has_the_small_groups_rows_and_the_redis_py_floor():
    labels = [label for label, _ in run.steps(run.QUICK, "redis://x", ["tidings"], ["rooms"])]
    assert labels == [
        "small groups 1, 16 senders: tidings RedisChannelLayer",
        "small groups 10, 16 senders: tidings RedisChannelLayer",
        "small groups 1, 2,000/s: tidings RedisChannelLayer",
        "small groups 10, 2,000/s: tidings RedisChannelLayer",
        "redis-py floor, 16 senders (plain)",
        "redis-py floor, 16 senders (pipelined)",
    ]


async def test_pubsub_worker_queue_duplicates_are_reported(redis_server, idle):
    pytest.importorskip("channels_redis")
    queue = await crossproc.worker_queue("pubsub", redis_server.url, 20)
    assert queue.duplicates == 20 and queue.check == "DUP"


async def test_websocket_end_to_end_on_tidings(redis_server, idle):
    pytest.importorskip("uvicorn")
    outcome = await e2e.end_to_end("tidings", redis_server.url, clients=10, seconds=0.5)
    assert outcome.received == outcome.expected == 50
    assert outcome.cpu_per_1000 is not None and outcome.cpu_per_1000 >= 0
    assert len(outcome.latencies) == 5  # one per broadcast: to the last client


def test_table_shows_ratios_and_flags(tmp_path):
    rows = [
        Outcome("s", "tidings X", 10, 200.0, "u/s", 10, 10),
        Outcome("s", "peer", 10, 100.0, "u/s", 10, 8),
    ]
    text = render(rows)
    assert "2.00x" in text and "MISSING" in text and "8/10" in text
    pytest.importorskip("matplotlib")
    from tidings.bench.plot import plot

    rows[0].scenario = rows[1].scenario = "in-process fan-out"
    plot(rows, str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").stat().st_size > 1000


def _keys_without_ttl(url: str) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return [k for k in client.scan_iter(count=1000) if client.pttl(k) == -1]
    finally:
        client.close()


async def test_bench_leaves_no_key_without_a_ttl_in_the_users_redis(idle):
    """`tidings bench --redis URL` must not leave keys that never expire behind."""
    from tests.servers import start_redis

    server = start_redis()  # its own, so every key in it is the bench's
    try:
        kinds = ["tidings"]
        try:
            import channels_redis  # noqa: F401

            kinds.append("core")
        except ImportError:
            pass
        for kind in kinds:
            await crossproc.fanout(kind, server.url, 4, 2, at_least=0)
            await crossproc.worker_queue(kind, server.url, 5)
            await crossproc.point_to_point(kind, server.url, 1, 2)
            await crossproc.small_groups(kind, server.url, 4)
        assert _keys_without_ttl(server.url) == []
    finally:
        server.stop()


async def test_a_small_fan_out_makes_enough_deliveries_to_measure(redis_server, idle):
    # 4 members, 1 send asked, at least 20 deliveries: 5 sends, every one counted.
    fan = await crossproc.fanout("tidings", redis_server.url, 4, 1, at_least=20)
    assert (fan.received, fan.expected, fan.duplicates) == (20, 20, 0)


async def test_repeated_rounds_interleave_the_contenders_and_keep_each_rows_median():
    """``--repeat 3``: all steps once, then again, then again (a slow spell of the machine
    falls on every contender alike); a row is the median of its rounds, with its range,
    every run's deliveries and latencies; a missing peer is asked once."""
    calls: list[str] = []
    rates = {"tidings": iter([300.0, 100.0, 200.0]), "peer": iter([50.0, 70.0, 60.0])}

    async def measure(name: str) -> Outcome:
        calls.append(name)
        return Outcome(
            "s",
            name,
            1,
            next(rates[name]),
            "u/s",
            10,
            10 if name == "tidings" else 9,
            latencies=[0.001 * len(calls)],
            cpu_per_1000=len(calls) / 10,
        )

    async def absent() -> Outcome:
        calls.append("absent")
        raise run.PeerMissing("not installed")

    todo = [("a", partial(measure, "tidings")), ("b", partial(measure, "peer")), ("c", absent)]
    outcomes, skipped = await run.run_steps(run.QUICK, todo, repeat=3)
    assert calls == ["tidings", "peer", "absent", "tidings", "peer", "tidings", "peer"]
    assert skipped == ["c: not installed"]
    ours, peer = outcomes
    assert (ours.rate, ours.spread, ours.expected, ours.received) == (200.0, (100.0, 300.0), 30, 30)
    assert (peer.rate, peer.spread, peer.lost, peer.check) == (60.0, (50.0, 70.0), 3, "MISSING")
    assert len(ours.latencies) == 3 and ours.cpu_per_1000 == 0.4  # CPU: the median too
    text = render(outcomes)
    assert "median rate" in text and "100-300" in text and "3.33x" in text


def test_repeat_takes_1_to_20_rounds():
    import argparse

    from tidings.cli import bench

    parser = argparse.ArgumentParser()
    bench.add_parser(parser.add_subparsers())
    assert parser.parse_args(["bench", "--repeat", "3"]).repeat == 3
    assert parser.parse_args(["bench"]).repeat == 1
    for bad in ("0", "21", "x"):
        with pytest.raises(SystemExit):
            parser.parse_args(["bench", "--repeat", bad])


async def test_each_receiver_writes_a_whole_profile(redis_server, idle, tmp_path, monkeypatch):
    """TIDINGS_BENCH_PROFILE=DIR: every receiver's cProfile is complete (it is written
    after the worker's RESULT, so the worker must not be killed as soon as it reports)."""
    import pstats

    monkeypatch.setenv("TIDINGS_BENCH_PROFILE", str(tmp_path))
    fan = await crossproc.fanout("tidings", redis_server.url, 4, 3, at_least=0)
    assert fan.received == 12
    files = sorted(tmp_path.glob("*.prof"))
    assert len(files) == 2
    for path in files:
        assert pstats.Stats(str(path)).total_calls > 0  # a cut file raises EOFError here


async def test_the_bare_fan_out_floor_sends_what_tidings_sends(redis_server, idle):
    """The sequential fan-out's floor row: tidings' own group_send.lua call from a bare
    redis-py client reaches every member (so the row measures the same work), and the
    plan puts it beside the smallest fan-out size only."""
    bare = await crossproc.fanout("tidings", redis_server.url, 4, 5, at_least=0, bare=True)
    assert (bare.received, bare.expected, bare.check) == (20, 20, "ok")
    assert bare.layer == "group_send.lua via bare redis-py"
    labels = [label for label, _ in run.steps(run.QUICK, "redis://x", ["tidings"], ["fanout"])]
    assert labels == [
        "cross-process 100: tidings RedisChannelLayer",
        "cross-process 100: group_send.lua via bare redis-py",
        "cross-process 1000: tidings RedisChannelLayer",
    ]
