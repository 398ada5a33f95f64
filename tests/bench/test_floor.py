"""The redis-py floor row counts what it did, against a real redis-server."""

from __future__ import annotations

import pytest

from tidings.bench.floor import redis_floor

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("pipelined", [True, False])
async def test_floor_makes_every_call_and_says_so(redis_server, pipelined):
    outcome = await redis_floor(redis_server.url, calls=500, senders=16, pipelined=pipelined)
    assert (outcome.expected, outcome.received, outcome.check) == (500, 500, "ok")
    assert len(outcome.latencies) == 500 and outcome.rate > 0
    if pipelined:  # 16 concurrent senders cannot have needed a trip per call
        assert "round trips" in outcome.note
        trips = int(outcome.note.split("; ")[1].split()[0])
        assert trips < 500
