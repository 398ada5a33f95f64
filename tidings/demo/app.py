"""The demo as one ASGI app: pages and ``/ingest`` over HTTP, consumers over WebSockets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from importlib import resources
from typing import Any

from ..config import get_channel_layer
from ..exceptions import BackendUnavailable, InvalidMessage, MessageTooLarge
from ..routing import AllowedHostsOriginValidator, ProtocolTypeRouter, URLRouter, path
from ..rules.routes import compile_path
from ..types import ASGIApp, Receive, Scope, Send
from . import notifications
from .consumers import ChatConsumer, IndexConsumer
from .ingest import BadIngest, ingest
from .jobs import jobs_enabled, queue_ingest

_notifications = notifications.http_app()

_STATIC = resources.files(__package__).joinpath("static")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_CHAT = compile_path("chat/<str:room_name>/")
MAX_BODY = 64 * 1024
logger = logging.getLogger("tidings.demo")


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, content: Any) -> None:
    await _respond(send, status, json.dumps(content).encode(), "application/json")


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if len(body) > MAX_BODY:
            raise BadIngest(f"The body is over {MAX_BODY} bytes; send seven numbers.")
        if not message.get("more_body"):
            return body


async def http_app(scope: Scope, receive: Receive, send: Send) -> None:
    """GET /, /chat/<room>/, /static/<file>; POST /ingest; /notifications/..."""
    method, route = scope["method"], scope["path"]
    if route.startswith("/notifications/"):
        await _notifications(scope, receive, send)
        return
    if route == "/ingest":
        if method != "POST":
            await _json(send, 405, {"error": "POST seven numbers to /ingest."})
            return
        layer = get_channel_layer()
        try:
            body = await _read_body(receive)
            if jobs_enabled():  # --job-workers: a tidings worker process does the work
                await _json(send, 202, await asyncio.to_thread(queue_ingest, layer, body))
                return
            # The seed's IngestView is synchronous: run it as such, in a worker thread.
            result = await asyncio.to_thread(ingest, layer, body)
        except (BadIngest, InvalidMessage, MessageTooLarge) as exc:
            await _json(send, 400, {"error": str(exc)})
            return
        except BackendUnavailable as exc:
            await _json(send, 503, {"error": str(exc)})
            return
        except Exception as exc:  # still JSON with a reason, never a bare 500 page
            logger.exception("tidings demo: /ingest failed")
            await _json(send, 500, {"error": f"internal error: {type(exc).__name__}: {exc}"})
            return
        await _json(send, 200, result)
        return
    if method != "GET":
        await _json(send, 405, {"error": f"{method} is not allowed on {route}."})
        return
    if route == "/":
        page = _STATIC.joinpath("index.html").read_text()
        page = page.replace("{{pid}}", str(os.getpid()))
        await _respond(send, 200, page.encode(), _TYPES[".html"])
    elif _CHAT.match(route.lstrip("/")) is not None:
        await _respond(send, 200, _STATIC.joinpath("chat.html").read_bytes(), _TYPES[".html"])
    elif route.startswith("/static/") and "/" not in route[len("/static/") :]:
        name = route[len("/static/") :]
        suffix = os.path.splitext(name)[1]
        file = _STATIC.joinpath(name)
        if suffix in _TYPES and file.is_file():
            await _respond(send, 200, file.read_bytes(), _TYPES[suffix])
        else:
            await _json(send, 404, {"error": f"No file {name}."})
    else:
        await _json(send, 404, {"error": f"Nothing at {route}; try / or /chat/lobby/."})


def create_app() -> ASGIApp:
    """The demo application (uvicorn factory); the layer comes from ``TIDINGS_URL``."""
    get_channel_layer()  # fail at start-up, not at the first request, if misconfigured
    websockets = URLRouter(
        [
            path("ws/index/", IndexConsumer.as_asgi()),
            path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
            path("ws/notify/", notifications.websocket_app()),
        ]
    )
    return ProtocolTypeRouter(
        {"http": http_app, "websocket": AllowedHostsOriginValidator(websockets)}
    )
