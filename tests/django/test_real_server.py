"""The seeds' Django project under uvicorn, with real WebSocket clients, on both backends."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

websockets = pytest.importorskip("websockets")
pytest.importorskip("uvicorn")
pytest.importorskip("channels")

from ..servers import free_port, stop_process, wait_http  # noqa: E402

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``uvicorn tests.django_project.asgi:application`` on a free loopback port."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.django_project.settings",
        }
        env.pop("TIDINGS_TEST_REDIS", None)
        if redis_url:
            env["TIDINGS_TEST_REDIS"] = redis_url
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.django_project.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--ws",
                "websockets-sansio",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_http(self.http("/ingest/"), self.process)

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop_process(self.process)


def call(url: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def receive_json(socket) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), 5))


@pytest.fixture(params=["memory", "redis"])
def server(request):
    url = request.getfixturevalue("redis_server").url if request.param == "redis" else None
    server = Server(url)
    yield server
    server.stop()


async def test_seed_chat_under_uvicorn(server):
    async with (
        websockets.connect(server.ws("/ws/chat/lobby/")) as a,
        websockets.connect(server.ws("/ws/chat/lobby/")) as b,
    ):
        await a.send(json.dumps({"message": "over a real socket"}))
        assert await receive_json(a) == {"message": "over a real socket"}
        assert await receive_json(b) == {"message": "over a real socket"}
        await asyncio.to_thread(call, server.http("/notify/?room=lobby&message=from-a-view"))
        assert await receive_json(b) == {"message": "from-a-view"}


async def test_seed_notifications_under_uvicorn(server):
    async with websockets.connect(server.ws("/ws/notifications/")) as socket:
        await asyncio.sleep(0.1)
        # An anonymous user's id is None, so the seed's group is "notifications_None".
        await asyncio.to_thread(call, server.http("/notify/?user=None&message=ping"))
        assert await receive_json(socket) == {"type": "send_notification", "message": "ping"}


async def test_seed_dashboard_sync_view_under_uvicorn(server):
    async with (
        websockets.connect(server.ws("/index/")) as a,
        websockets.connect(server.ws("/index/")) as b,
    ):
        await asyncio.sleep(0.1)
        assert await asyncio.to_thread(call, server.http("/ingest/"), "POST") == 200
        first, second = await receive_json(a), await receive_json(b)
        assert first == second and first["type"] == "websocket.ingest"
        assert len(first["text"]) == 7


async def test_two_server_processes_share_broadcasts_through_redis(redis_server):
    one, two = Server(redis_server.url), Server(redis_server.url)
    try:
        async with (
            websockets.connect(one.ws("/index/")) as a,
            websockets.connect(two.ws("/index/")) as b,
        ):
            await asyncio.sleep(0.2)
            assert await asyncio.to_thread(call, one.http("/ingest/"), "POST") == 200
            first, second = await receive_json(a), await receive_json(b)
            assert first == second and first["type"] == "websocket.ingest"
    finally:
        one.stop()
        two.stop()
