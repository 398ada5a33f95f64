"""The FastAPI example under real uvicorn, real WebSocket clients, Starlette's own auth.

Seed 001's NotificationConsumer runs unchanged behind SessionMiddleware +
AuthenticationMiddleware: a notification for user 7 reaches only user 7's sockets, and
anonymous or forged sockets are closed with 4401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tidings.layers.redis import RedisChannelLayer

from ..servers import free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-session-secret"
pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def server(redis_server):
    port = free_port()
    url = f"{redis_server.url}?prefix=fastapi{os.getpid()}"
    env = {**os.environ, "SESSION_SECRET": SECRET, "TIDINGS_URL": url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "uvicorn", "fastapi_notifications:app", "--app-dir"]
    command += ["examples", "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/docs", process)
        yield {"http": base, "ws": f"ws://127.0.0.1:{port}/ws/notify/", "layer_url": url}
    finally:
        stop_process(process)


def login(server, username: str, password: str) -> str:
    """The session cookie header of a logged-in user."""
    reply = httpx.post(server["http"] + "/login", json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return f"session={reply.cookies['session']}"


async def socket(server, origin: str = "http://127.0.0.1", **headers: str):
    return await connect(server["ws"], additional_headers=headers, origin=origin, open_timeout=10)


async def refused_with(server, **headers: str) -> int | None:
    """Open a socket; return the close code the server ends it with."""
    async with await socket(server, **headers) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        return ws.close_code


async def next_json(ws, timeout: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def nothing(ws, timeout: float = 0.7) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), timeout)
    except TimeoutError:
        return True
    return False


async def test_a_notification_for_user_7_reaches_only_user_7s_sockets(server):
    alice, bob = login(server, "alice", "wonderland"), login(server, "bob", "builder")
    alice_tab1 = await socket(server, Cookie=alice)
    alice_tab2 = await socket(server, Cookie=alice)
    alice_api = await socket(server, Authorization="Bearer alice-api-token")
    bob_tab = await socket(server, Cookie=bob)
    await asyncio.sleep(0.3)  # connect() ran: every socket is in its group
    try:
        reply = await asyncio.to_thread(
            httpx.post,
            server["http"] + "/notify/7",
            json={"message": "hello alice"},
            headers={"Cookie": bob},
        )
        assert reply.status_code == 200, reply.text
        want = {"type": "send_notification", "message": "hello alice"}
        for ws in (alice_tab1, alice_tab2, alice_api):
            assert await next_json(ws) == want
        assert await nothing(bob_tab)

        # From another process (a worker, a script): through Redis, to user 8 only.
        layer = RedisChannelLayer(
            hosts=[server["layer_url"].split("?")[0]], prefix=server["layer_url"].split("=")[1]
        )
        report = await layer.group_send(
            "notifications_8", {"type": "send_notification", "message": "hi bob"}
        )
        await layer.close()
        assert report.delivered == 1
        assert (await next_json(bob_tab))["message"] == "hi bob"
        for ws in (alice_tab1, alice_tab2, alice_api):
            assert await nothing(ws, 0.3)
    finally:
        for ws in (alice_tab1, alice_tab2, alice_api, bob_tab):
            await ws.close()


async def test_a_page_of_another_site_is_refused_at_the_handshake(server):
    alice = login(server, "alice", "wonderland")
    with pytest.raises(InvalidStatus) as refused:
        await socket(server, origin="https://evil.example", Cookie=alice)
    assert refused.value.response.status_code == 403


async def test_an_anonymous_socket_is_closed_with_4401(server):
    assert await refused_with(server) == 4401


async def test_a_cookie_signed_with_another_secret_is_closed_with_4401(server):
    payload = base64.b64encode(json.dumps({"user_id": 7, "username": "alice"}).encode())
    forged = TimestampSigner("not-the-secret").sign(payload).decode()
    assert await refused_with(server, Cookie=f"session={forged}") == 4401


async def test_a_tampered_cookie_is_closed_with_4401(server):
    cookie = login(server, "bob", "builder").removeprefix("session=")
    data, _, rest = cookie.partition(".")
    claims = json.loads(base64.b64decode(data))
    claims["user_id"] = 7  # bob claims to be alice, keeping bob's signature
    tampered = base64.b64encode(json.dumps(claims).encode()).decode() + "." + rest
    assert await refused_with(server, Cookie=f"session={tampered}") == 4401


async def test_an_unknown_or_malformed_token_is_closed_with_4401(server):
    assert await refused_with(server, Authorization="Bearer guessed-token") == 4401
    assert await refused_with(server, Authorization="Basic YWxpY2U6d29uZGVybGFuZA==") == 4401


async def test_after_logout_the_same_browser_is_refused(server):
    async with httpx.AsyncClient(base_url=server["http"]) as client:
        await client.post("/login", json={"username": "alice", "password": "wonderland"})
        cookie = f"session={client.cookies['session']}"
        async with await socket(server, Cookie=cookie) as ws:
            assert await nothing(ws, 0.3)  # accepted and open
        await client.post("/logout")
        after = client.cookies.get("session")
    assert await refused_with(server, Cookie=f"session={after}") == 4401


def test_wrong_password_and_anonymous_notify_get_401(server):
    bad = httpx.post(server["http"] + "/login", json={"username": "alice", "password": "x"})
    assert bad.status_code == 401
    anonymous = httpx.post(server["http"] + "/notify/7", json={"message": "spam"})
    assert anonymous.status_code == 401
