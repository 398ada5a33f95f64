"""The demo answers every error with JSON and a reason, and refuses to start on a dead Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidings import config
from tidings.demo.app import http_app
from tidings.testing import free_port

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def layer_url(monkeypatch):
    def use(url: str) -> None:
        monkeypatch.setattr(config, "_django_channel_layers", lambda: None)
        monkeypatch.setenv("TIDINGS_URL", url)
        config.reset_channel_layers()

    yield use
    config.reset_channel_layers()


async def post_ingest(body: bytes) -> tuple[int, dict[str, str], object]:
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/ingest", "headers": []}
    await http_app(scope, receive, send)
    start, body_message = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body_message["body"])


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"data": [75557863725914323419136, 1, 2, 3, 4, 5, 6]}', 400, "too large"),
        (b"{nope", 400, "not JSON"),
        (b'{"data": [1, 2]}', 400, "7 numbers"),
    ],
)
async def test_bad_ingest_bodies_get_json_errors(layer_url, body, status, words):
    layer_url("memory://")
    code, headers, content = await post_ingest(body)
    assert (code, headers["content-type"]) == (status, "application/json")
    assert words in content["error"]


async def test_ingest_with_a_dead_redis_is_a_json_503(layer_url):
    layer_url(f"redis://127.0.0.1:{free_port()}/0?timeout=0.3")
    code, headers, content = await post_ingest(b"")
    assert (code, headers["content-type"]) == (503, "application/json")
    assert "unreachable" in content["error"]
    await config.get_channel_layer().close()


def test_demo_with_a_dead_redis_exits_at_start_with_one_line():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidings.cli",
            "demo",
            "--port",
            str(free_port()),
            "--redis",
            f"redis://127.0.0.1:{free_port()}/0?timeout=0.5",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0], result.stderr
    assert "tidings demo on" not in result.stdout


def test_demo_with_a_bad_redis_url_names_the_flag():
    result = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "demo", "--redis", "redis://127.0.0.1:99999/0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--redis" in result.stderr and "port" in result.stderr


async def get_demo(method: str, path: str, body: bytes = b"") -> tuple[int, str, bytes]:
    import httpx

    transport = httpx.ASGITransport(app=http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        reply = await client.request(method, path, content=body)
    return reply.status_code, reply.headers["content-type"], reply.content


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("GET", "/ingest", 405, "POST seven numbers to /ingest"),
        ("POST", "/", 405, "POST is not allowed on /"),
        ("GET", "/nowhere", 404, "Nothing at /nowhere; try / or /chat/lobby/"),
        ("GET", "/static/missing.js", 404, "Nothing at /static/missing.js"),
        ("GET", "/static/../app.py", 404, "Nothing at"),
    ],
)
async def test_every_http_error_is_json_with_a_reason(layer_url, method, path, status, words):
    layer_url("memory://")
    code, content_type, body = await get_demo(method, path)
    assert (code, content_type) == (status, "application/json")
    assert words in json.loads(body)["error"]


async def test_a_body_over_the_limit_is_refused_with_400(layer_url):
    layer_url("memory://")
    code, _, body = await get_demo("POST", "/ingest", b"[" * (64 * 1024 + 1))
    assert code == 400 and "over 65536 bytes" in json.loads(body)["error"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/favicon.ico", "image/svg+xml"),
        ("/static/favicon.svg", "image/svg+xml"),
        ("/static/linechart.js", "text/javascript; charset=utf-8"),
        ("/static/livesocket.js", "text/javascript; charset=utf-8"),
        ("/static/demo.css", "text/css; charset=utf-8"),
        ("/chat/lobby/", "text/html; charset=utf-8"),
        ("/notifications/", "text/html; charset=utf-8"),
    ],
)
async def test_pages_and_static_files_are_served(layer_url, path, content_type):
    layer_url("memory://")
    code, got, _ = await get_demo("GET", path)
    assert (code, got) == (200, content_type)
