"""The capacity plan is calculated from measured costs, not typed in: the arithmetic is
checked on given costs, and a quick real measurement must produce sane, consistent ones."""

from __future__ import annotations

import pytest

from tidings.bench import capacity
from tidings.bench.capacity import Costs


def given() -> Costs:
    return Costs(
        send_server_us={1: 10.0, 10: 40.0, 80: 320.0},
        add_server_us=12.0,
        heartbeat_server_us=20.0,
        drain_server_us_per_entry=0.5,
        group_bytes={1: 600.0, 10: 2000.0},
        list_entry_bytes=140.0,
        stream_entry_bytes=150.0,
        send_client_us={1: 30.0, 10: 40.0},
        connections_per_process=2,
    )


def test_group_send_cost_runs_straight_between_the_measured_points() -> None:
    costs = given()
    assert costs.send_us(1) == 10.0
    assert costs.send_us(5.5) == pytest.approx(25.0)
    assert costs.send_us(45) == pytest.approx(180.0)
    assert costs.send_us(80) == 320.0
    assert costs.send_us(160) == pytest.approx(640.0)  # beyond the last point: the last slope


def test_the_plan_is_the_arithmetic_of_the_costs() -> None:
    text = capacity.plan(given())
    # notifications: 1M users / 60 s = 16,667 sends/s x 10 µs = 0.167 cores
    assert "| 16,667 | 10.0 | 0.167 | 0.062 |" in text  # busiest master: 6/16
    # chat: 10 members over 80 processes meet 9.4 distinct ones on average
    distinct = capacity.expected_distinct(10, 80)
    assert distinct == pytest.approx(9.45, abs=0.01)
    assert f"| 10,000 | {10 + 30 * (distinct - 1) / 9:.1f} |" in text
    assert "1M one-member groups x 600 B = 0.60 GB" in text
    assert "80 x (16 + 3) = 1,520" in text
    cap = capacity.mailbox_capacity()
    assert f"80 x {cap:,} x 150 B = {80 * cap * 150 / 1e9:.2f} GB" in text
    assert f"80 x 16 x {cap:,} x 150 B = {80 * 16 * cap * 150 / 1e9:.2f} GB" in text


@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_a_quick_measurement_gives_consistent_costs() -> None:
    costs = await capacity.measure(quick=True, cluster=False)
    sends = costs.send_server_us
    assert set(sends) == {1, 2, 10, 80}
    # a group_send does more work for more member processes: the measurement sees it
    assert sends[1] < sends[10] < sends[80]
    assert costs.add_server_us > 0 and costs.heartbeat_server_us > 0
    assert 0 < costs.drain_server_us_per_entry < sends[1]
    assert 100 < costs.group_bytes[1] < costs.group_bytes[10]
    assert costs.list_entry_bytes > 100 and costs.stream_entry_bytes > 100
    assert all(us > 0 for us in costs.send_client_us.values())
    assert costs.connections_per_process >= 2  # a pipelined one and the mailbox reader
    assert "Fleet: 1,000,000 connections" in capacity.plan(costs)
