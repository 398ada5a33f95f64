"""tidings.consumers and tidings.routing without Django: the seeds' consumers, imports changed."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from asgiref.testing import ApplicationCommunicator

import tidings
from tidings import config
from tidings.consumers import (
    AsyncConsumer,
    AsyncJsonWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from tidings.exceptions import NoHandler
from tidings.routing import AllowedHostsOriginValidator, ProtocolTypeRouter, URLRouter, path

from .seed_consumers import ChatConsumer, IndexConsumer, NotificationConsumer

pytestmark = pytest.mark.timeout(30)


class Socket:
    """A WebSocket client for an ASGI app, in process."""

    def __init__(self, app, path_: str, **scope) -> None:
        headers = scope.pop("headers", [])
        full = {"type": "websocket", "path": path_, "headers": headers, **scope}
        self.comm = ApplicationCommunicator(app, full)

    async def connect(self) -> bool:
        await self.comm.send_input({"type": "websocket.connect"})
        reply = await self.comm.receive_output(2)
        return reply["type"] == "websocket.accept"

    async def send_text(self, text: str) -> None:
        await self.comm.send_input({"type": "websocket.receive", "text": text})

    async def receive_json(self, timeout: float = 2) -> dict:
        reply = await self.comm.receive_output(timeout)
        assert reply["type"] == "websocket.send", reply
        return json.loads(reply["text"])

    async def nothing(self, timeout: float = 0.2) -> bool:
        return await self.comm.receive_nothing(timeout)

    async def close(self) -> None:
        await self.comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.comm.wait(2)


@pytest.fixture(autouse=True)
async def memory_layer(monkeypatch):
    monkeypatch.setattr(config, "_django_channel_layers", lambda: None)
    monkeypatch.delenv("TIDINGS_URL", raising=False)
    config.reset_channel_layers()
    yield tidings.get_channel_layer()
    config.reset_channel_layers()


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [
                path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
                path("ws/notifications/", NotificationConsumer.as_asgi()),
                path("index/", IndexConsumer.as_asgi()),
            ]
        )
    }
)


async def test_seed_chat_consumer_without_django():
    alice, bob = Socket(application, "/ws/chat/lobby/"), Socket(application, "/ws/chat/lobby/")
    other = Socket(application, "/ws/chat/attic/")
    for s in (alice, bob, other):
        assert await s.connect()
    await alice.send_text(json.dumps({"message": "hi"}))
    assert await alice.receive_json() == {"message": "hi"}
    assert await bob.receive_json() == {"message": "hi"}
    assert await other.nothing()
    for s in (alice, bob, other):
        await s.close()


async def test_seed_notification_consumer_and_sync_sender(memory_layer):
    me = Socket(application, "/ws/notifications/", user=SimpleNamespace(id=9))
    assert await me.connect()
    report = await asyncio.to_thread(
        memory_layer.sync.group_send, "notifications_9", {"type": "send_notification", "x": 1}
    )
    assert report.delivered == 1
    assert await me.receive_json() == {"type": "send_notification", "x": 1}
    await me.close()
    memory_layer.sync.stop()


async def test_seed_index_consumer_receives_ingest_broadcasts(memory_layer):
    pages = [Socket(application, "/index/") for _ in range(2)]
    for p in pages:
        assert await p.connect()
    await memory_layer.group_send("index", {"type": "websocket.ingest", "text": [1, 2, 3]})
    for p in pages:
        assert await p.receive_json() == {"type": "websocket.ingest", "text": [1, 2, 3]}
        await p.close()
    assert (await memory_layer.group_send("index", {"type": "websocket.ingest"})).members == 0


async def test_message_without_handler_names_type_method_and_class(memory_layer):
    page = Socket(application, "/index/")
    assert await page.connect()
    await memory_layer.group_send("index", {"type": "chart.redraw"})
    with pytest.raises(
        NoHandler, match=r"IndexConsumer has no method chart_redraw\(\).*'chart.redraw'"
    ):
        await page.comm.wait(2)


class Counter(JsonWebsocketConsumer):
    groups = ["counters"]  # noqa: RUF012 - Channels' API is a plain class attribute

    def receive_json(self, content, **kwargs):
        self.send_json({"echo": content, "thread_sync": True})

    def counter_bump(self, event):
        self.send_json({"bumped": event["n"]})


class Plain(WebsocketConsumer):
    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=(text_data or "").upper())


async def test_sync_consumers_join_groups_and_reply(memory_layer):
    app = URLRouter([path("count/", Counter.as_asgi()), path("plain/", Plain.as_asgi())])
    counter, plain = Socket(app, "/count/"), Socket(app, "/plain/")
    assert await counter.connect() and await plain.connect()
    await counter.send_text(json.dumps({"a": 1}))
    assert await counter.receive_json() == {"echo": {"a": 1}, "thread_sync": True}
    await memory_layer.group_send("counters", {"type": "counter.bump", "n": 5})
    assert await counter.receive_json() == {"bumped": 5}
    await plain.send_text("shout")
    reply = await plain.comm.receive_output(2)
    assert reply == {"type": "websocket.send", "text": "SHOUT"}
    await counter.close()
    await plain.close()
    assert (
        await memory_layer.group_send("counters", {"type": "counter.bump", "n": 0})
    ).members == 0


class Echo(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.kwargs = self.scope["url_route"]["kwargs"]
        await self.accept()
        await self.send_json(self.kwargs)


async def test_url_router_converters_and_nesting():
    app = URLRouter(
        [
            path("api/v<int:version>/", URLRouter([path("items/<slug:item>/", Echo.as_asgi())])),
            path("files/<path:rest>", Echo.as_asgi()),
        ]
    )
    sock = Socket(app, "/api/v2/items/blue-shoe/")
    assert await sock.connect()
    assert await sock.receive_json() == {"version": 2, "item": "blue-shoe"}
    sock = Socket(app, "/files/a/b/c.txt")
    assert await sock.connect()
    assert await sock.receive_json() == {"rest": "a/b/c.txt"}


async def test_unknown_path_closes_the_socket_with_4404():
    sock = Socket(URLRouter([path("known/", Echo.as_asgi())]), "/unknown/")
    await sock.comm.send_input({"type": "websocket.connect"})
    assert await sock.comm.receive_output(2) == {"type": "websocket.close", "code": 4404}


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [(b"http://localhost:8000", True), (b"http://evil.example", False), (None, False)],
)
async def test_allowed_hosts_origin_validator(origin, accepted, monkeypatch):
    from tidings import routing

    monkeypatch.setattr(routing, "_django_allowed_hosts", lambda: None)  # no Django here
    app = AllowedHostsOriginValidator(URLRouter([path("e/", Echo.as_asgi())]))
    headers = [(b"origin", origin)] if origin else []
    sock = Socket(app, "/e/", headers=headers)
    assert await sock.connect() is accepted


class Raw(AsyncConsumer):
    async def websocket_connect(self, message):
        await self.send({"type": "websocket.accept"})
        await self.send({"type": "websocket.send", "text": self.channel_name})


async def test_async_consumer_gets_its_own_channel(memory_layer):
    sock = Socket(Raw.as_asgi(), "/")
    assert await sock.connect()
    name = (await sock.comm.receive_output(2))["text"]
    assert name.startswith("specific.") and "!" in name
    await memory_layer.send(name, {"type": "websocket.close"})  # no handler: a real close
    with pytest.raises(NoHandler, match="websocket_close"):
        await sock.comm.wait(2)
