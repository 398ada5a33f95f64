"""The seeds' consumers and views, unchanged, on Django + Channels with tidings as the layer."""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace

import pytest

django = pytest.importorskip("django")
pytest.importorskip("channels")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_project.settings")
django.setup()

from channels.layers import channel_layers, get_channel_layer  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

import tidings  # noqa: E402
from tests.django_project import views  # noqa: E402
from tests.django_project.asgi import application  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True, params=["memory", "redis"])
async def fresh_layer(request):
    """Each test runs with BACKEND tidings.MemoryChannelLayer, then tidings.RedisChannelLayer."""
    if request.param == "memory":
        config = {"BACKEND": "tidings.MemoryChannelLayer"}
    else:
        server = request.getfixturevalue("redis_server")
        config = {
            "BACKEND": "tidings.RedisChannelLayer",
            "CONFIG": {"hosts": [server.url], "prefix": "django"},
        }
    with override_settings(CHANNEL_LAYERS={"default": config}):
        channel_layers.backends.clear()
        yield request.param
        layer = get_channel_layer()
        await layer.flush()
        await layer.close()
        channel_layers.backends.clear()


async def connect(path: str, **scope) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path)
    communicator.scope.update(scope)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def test_settings_backend_is_tidings(fresh_layer):
    layer = get_channel_layer()
    expected = tidings.MemoryChannelLayer if fresh_layer == "memory" else tidings.RedisChannelLayer
    assert isinstance(layer, expected)
    assert tidings.get_channel_layer() is layer  # one object for consumers and tidings users


async def test_chat_consumer_broadcasts_to_the_room():
    alice = await connect("/ws/chat/lobby/")
    bob = await connect("/ws/chat/lobby/")
    other = await connect("/ws/chat/elsewhere/")
    await alice.send_to(text_data=json.dumps({"message": "hello"}))
    for client in (alice, bob):
        assert json.loads(await client.receive_from(2)) == {"message": "hello"}
    assert await other.receive_nothing(0.2)
    await asyncio.to_thread(views.send_message_to_group, "lobby", "from a task")
    assert json.loads(await bob.receive_from(2)) == {"message": "from a task"}
    for client in (alice, bob, other):
        await client.disconnect()


async def test_notification_consumer_gets_user_notifications():
    user = SimpleNamespace(id=42)
    client = await connect("/ws/notifications/", user=user)
    stranger = await connect("/ws/notifications/", user=SimpleNamespace(id=7))
    await asyncio.to_thread(views.send_notification_to_user, 42, "you have mail")
    assert json.loads(await client.receive_from(2)) == {
        "type": "send_notification",
        "message": "you have mail",
    }
    assert await stranger.receive_nothing(0.2)
    await client.disconnect()
    await stranger.disconnect()


async def test_dashboard_ingest_view_redraws_every_open_index_page():
    pages = [await connect("/index/") for _ in range(3)]
    response = await asyncio.to_thread(Client().post, "/ingest/")
    assert response.status_code == 200
    payloads = [await page.receive_json_from(2) for page in pages]
    assert all(p["type"] == "websocket.ingest" for p in payloads)
    assert all(p == payloads[0] for p in payloads)
    assert len(payloads[0]["text"]) == 7 and all(1 <= v <= 10 for v in payloads[0]["text"])
    for page in pages:
        await page.disconnect()
    report = await get_channel_layer().group_send("index", {"type": "websocket.ingest"})
    assert report.members == 0  # disconnect left the group


async def test_disconnected_consumer_cancels_its_receive_without_losing_messages():
    page = await connect("/index/")
    await page.disconnect()
    layer = get_channel_layer()
    stats = layer.statistics()
    assert stats.waiting_receivers == 0
