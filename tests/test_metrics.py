"""Metrics through the Python API and Prometheus text, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from tidings.metrics import metrics, prometheus_text, register


async def test_counters_and_gauges_follow_traffic(make_layer):
    layer = make_layer(capacity=1)
    a, b = await layer.new_channel(), await layer.new_channel()
    for channel in (a, b):
        await layer.group_add("m", channel)
    await layer.group_send("m", {"type": "t"})
    await layer.group_send("m", {"type": "t"})  # both full now: 2 drops
    await asyncio.wait_for(layer.receive(a), 2)
    values = metrics(layer)
    assert values["tidings_sent_total"] == 2
    assert values["tidings_dropped_total"] == 2
    assert values["tidings_received_total"] == 1
    assert values["tidings_queued"] == 1
    assert values["tidings_memberships"] == 2
    assert values["tidings_reconnects_total"] == 0
    assert values["tidings_backend_errors_total"] == 0


async def test_prometheus_text_format(make_layer):
    pytest.importorskip("prometheus_client")
    layer = make_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "t"})
    text = prometheus_text(layer)
    assert "# TYPE tidings_sent_total counter" in text
    assert "tidings_sent_total 1.0" in text
    assert f'tidings_inbox_depth{{channel="{channel}"}} 1.0' in text
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    register(layer, registry, prefix="app")
    assert b"app_queued 1.0" in generate_latest(registry)
