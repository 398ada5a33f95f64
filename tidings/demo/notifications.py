"""Per-user notifications: log in as a name, get your own notifications, nobody else's.

Seed 001's ``NotificationConsumer`` (imports changed) behind Starlette's own
``SessionMiddleware`` (signed cookie) and ``AuthenticationMiddleware``; tidings adds only
``SessionBackend`` (gives ``scope["user"]`` its ``.id``) and ``RequireUser`` (close 4401).
The demo has no passwords: the name is the identity, which is fine for a demo only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..config import get_channel_layer
from ..consumers import AsyncWebsocketConsumer
from ..integrations.starlette import SessionBackend
from ..routing import RequireUser
from ..types import ASGIApp

NAME = re.compile(r"^[A-Za-z0-9_-]{1,30}$")
SECRET = "TIDINGS_DEMO_SECRET"  # one per demo run, shared by its uvicorn processes


class NotificationConsumer(AsyncWebsocketConsumer):  # seed 001, unchanged
    async def connect(self):  # type: ignore[no-untyped-def]
        self.user_id = self.scope["user"].id
        self.group_name = f"notifications_{self.user_id}"

        # Add the consumer to the group
        await self.channel_layer.group_add(self.group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):  # type: ignore[no-untyped-def]
        # Remove the consumer from the group
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def send_notification(self, event):  # type: ignore[no-untyped-def]
        # Send the notification to the WebSocket client
        await self.send(text_data=json.dumps(event))


async def page(request: Request) -> Response:
    html = resources.files(__package__).joinpath("static/notifications.html").read_text()
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def me(request: Request) -> Response:
    user = request.user
    return JSONResponse({"name": user.identity if user.is_authenticated else None})


async def _name(request: Request, key: str) -> str:
    try:
        content: Any = await request.json()
    except ValueError:
        content = None
    name = content.get(key) if isinstance(content, dict) else None
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"'{key}' must be 1 to 30 letters, digits, '-' or '_'.")
    return name


async def login(request: Request) -> Response:
    try:
        name = await _name(request, "name")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    request.session.update(user_id=name, username=name)
    return JSONResponse({"name": name})


async def logout(request: Request) -> Response:
    request.session.clear()
    return JSONResponse({"name": None})


async def send(request: Request) -> Response:
    if not request.user.is_authenticated:
        return JSONResponse({"error": "Log in first."}, status_code=401)
    try:
        to = await _name(request, "to")
        content = await request.json()
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    message = str(content.get("message", ""))[:500]
    report = await get_channel_layer().group_send(
        f"notifications_{to}",
        {"type": "send_notification", "message": message, "from": request.user.identity},
    )
    return JSONResponse({"to": to, **report.as_dict()})


def _secret() -> str:
    return os.environ.setdefault(SECRET, secrets.token_urlsafe(32))


def _auth() -> list[Middleware]:
    return [
        Middleware(SessionMiddleware, secret_key=_secret()),
        Middleware(AuthenticationMiddleware, backend=SessionBackend()),
    ]


def http_app() -> Starlette:
    """The page, ``me``, ``login``, ``logout`` and ``send``, mounted at ``/notifications``."""
    app = Starlette(
        routes=[
            Route("/", page),
            Route("/me", me),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/send", send, methods=["POST"]),
        ],
        middleware=_auth(),
    )
    return app


def websocket_app() -> ASGIApp:
    """``/ws/notify/``: the seed's consumer, for logged-in users only (else close 4401)."""
    app: ASGIApp = RequireUser(NotificationConsumer.as_asgi())
    for middleware in reversed(_auth()):
        app = middleware.cls(app, *middleware.args, **middleware.kwargs)
    return app
