"""close(): what waiting receivers see, and using a layer again afterwards."""

from __future__ import annotations

import asyncio

import pytest

from tidings import LayerClosed


async def test_close_ends_waiting_receives_with_layer_closed(make_layer):
    """A receive waiting when the layer closes raises LayerClosed promptly, instead of
    waiting forever while senders' reports say delivered."""
    layer = make_layer()
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.1)
    await layer.close()
    with pytest.raises(LayerClosed, match="closed"):
        await asyncio.wait_for(waiting, 2)


async def test_a_closed_layer_can_be_used_again(make_layer):
    """As with channels_redis's close_pools(): after close() the next call opens what
    it needs; queued messages and memberships are kept."""
    layer = make_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.send(channel, {"type": "queued"})
    await layer.close_pools()
    assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "queued"
    report = await layer.group_send("room", {"type": "again"})
    assert report.delivered == 1
    assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "again"
