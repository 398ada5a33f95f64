"""tidings consumers mounted in Starlette routing, tested with Starlette's own TestClient."""

from __future__ import annotations

import json
import warnings

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router, WebSocketRoute

with warnings.catch_warnings():  # "use httpx2": the TestClient works as well on httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

import tidings
from tidings import config
from tidings.consumers import AsyncJsonWebsocketConsumer

from ..consumers.seed_consumers import ChatConsumer

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning"),
]


@pytest.fixture(autouse=True)
def memory_layer(monkeypatch):
    monkeypatch.setattr(config, "_django_channel_layers", lambda: None)
    monkeypatch.delenv("TIDINGS_URL", raising=False)
    config.reset_channel_layers()
    yield tidings.get_channel_layer()
    config.reset_channel_layers()


class Echo(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"echo": content, "layer": type(self.channel_layer).__name__})


async def homepage(request):
    return PlainTextResponse("home")


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", homepage),
            WebSocketRoute("/ws/echo/", Echo.as_asgi()),
            WebSocketRoute("/ws/chat/{room_name}/", ChatConsumer.as_asgi()),
            Mount("/api", routes=[WebSocketRoute("/echo/", Echo.as_asgi())]),
            Mount("/raw", app=Router([WebSocketRoute("/echo/", Echo.as_asgi())])),
        ]
    )


@pytest.mark.parametrize("path", ["/ws/echo/", "/api/echo/", "/raw/echo/"])
def test_consumer_mounts_next_to_http_routes(path):
    with TestClient(app()) as client:
        assert client.get("/").text == "home"
        with client.websocket_connect(path) as ws:
            ws.send_json({"n": 1})
            assert ws.receive_json() == {"echo": {"n": 1}, "layer": "MemoryChannelLayer"}


def test_seed_chat_consumer_reads_starlette_path_params_as_url_route():
    with (
        TestClient(app()) as client,
        client.websocket_connect("/ws/chat/lobby/") as alice,
        client.websocket_connect("/ws/chat/lobby/") as bob,
        client.websocket_connect("/ws/chat/other/") as carol,
    ):
        alice.send_text(json.dumps({"message": "hi"}))
        assert json.loads(bob.receive_text()) == {"message": "hi"}
        assert json.loads(alice.receive_text()) == {"message": "hi"}
        carol.send_text(json.dumps({"message": "elsewhere"}))
        assert json.loads(carol.receive_text()) == {"message": "elsewhere"}


def test_closing_sockets_under_testclient_raises_nothing():
    with TestClient(app()) as client:
        for _ in range(20):
            with client.websocket_connect("/ws/echo/") as ws:
                ws.send_json({"n": 2})
                ws.receive_json()


def test_as_asgi_channel_layer_sets_the_consumers_layer():
    mine = tidings.MemoryChannelLayer()
    starlette_app = Starlette(routes=[WebSocketRoute("/ws/", Echo.as_asgi(channel_layer=mine))])
    seen = []

    class Spy(Echo):
        async def connect(self):
            seen.append(self.channel_layer)
            await self.accept()

    starlette_app.router.routes.append(WebSocketRoute("/spy/", Spy.as_asgi(channel_layer=mine)))
    with TestClient(starlette_app) as client, client.websocket_connect("/spy/"):
        pass
    assert seen == [mine]
    assert seen[0] is not tidings.get_channel_layer()
