"""RequireUser: only authenticated ``scope["user"]`` gets through; the refusal is documented."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from asgiref.testing import ApplicationCommunicator

from tidings.exceptions import ConfigurationError
from tidings.routing import RequireUser

pytestmark = pytest.mark.timeout(10)


async def inner(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})


def user(authenticated: bool) -> SimpleNamespace:
    return SimpleNamespace(id=7, is_authenticated=authenticated)


async def test_an_authenticated_socket_reaches_the_app():
    comm = ApplicationCommunicator(
        RequireUser(inner), {"type": "websocket", "path": "/", "user": user(True)}
    )
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output(1) == {"type": "websocket.accept"}


async def test_an_anonymous_socket_is_accepted_then_closed_with_4401():
    comm = ApplicationCommunicator(
        RequireUser(inner), {"type": "websocket", "path": "/", "user": user(False)}
    )
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output(1) == {"type": "websocket.accept"}
    closed = await comm.receive_output(1)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_the_close_code_can_be_chosen():
    comm = ApplicationCommunicator(
        RequireUser(inner, close_code=4003), {"type": "websocket", "path": "/", "user": object()}
    )
    await comm.send_input({"type": "websocket.connect"})
    await comm.receive_output(1)
    assert (await comm.receive_output(1))["code"] == 4003


async def test_an_anonymous_http_request_gets_401():
    comm = ApplicationCommunicator(
        RequireUser(inner), {"type": "http", "path": "/", "user": user(False)}
    )
    await comm.send_input({"type": "http.request"})
    assert (await comm.receive_output(1))["status"] == 401


async def test_without_authentication_middleware_it_says_what_is_missing():
    comm = ApplicationCommunicator(RequireUser(inner), {"type": "websocket", "path": "/"})
    await comm.send_input({"type": "websocket.connect"})
    with pytest.raises(ConfigurationError, match="AuthenticationMiddleware"):
        await comm.wait(1)
