"""The demo as one ASGI app: Starlette serves the pages, static files and ``POST /ingest``;
tidings consumers hold the WebSockets."""

from __future__ import annotations

import asyncio
import logging
import os
from importlib import resources
from typing import cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..config import get_channel_layer
from ..exceptions import BackendUnavailable, InvalidMessage, MessageTooLarge
from ..routing import AllowedHostsOriginValidator, ProtocolTypeRouter, URLRouter, path
from ..types import ASGIApp
from . import notifications
from .consumers import ChatConsumer, IndexConsumer
from .ingest import BadIngest, ingest
from .jobs import jobs_enabled, queue_ingest

MAX_BODY = 64 * 1024
NO_STORE = {"cache-control": "no-store"}
logger = logging.getLogger("tidings.demo")


def _page(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


async def index(request: Request) -> Response:
    return HTMLResponse(_page("index.html").replace("{{pid}}", str(os.getpid())), headers=NO_STORE)


async def chat(request: Request) -> Response:
    return HTMLResponse(_page("chat.html"), headers=NO_STORE)


async def chat_lobby(request: Request) -> Response:
    return RedirectResponse("/chat/lobby/")


async def favicon(request: Request) -> Response:
    return Response(_page("favicon.svg"), media_type="image/svg+xml")


async def _body(request: Request) -> bytes:
    """The request body, refused past ``MAX_BODY`` before more of it is read."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadIngest(f"The body is over {MAX_BODY} bytes; send seven numbers.")
    return body


async def ingest_endpoint(request: Request) -> Response:
    """``POST /ingest``: broadcast seven numbers (or random ones) to every open dashboard."""
    if request.method != "POST":
        return _error(405, "POST seven numbers to /ingest.")
    layer = get_channel_layer()
    try:
        body = await _body(request)
        if jobs_enabled():  # --job-workers: a tidings worker process does the work
            queued = await asyncio.to_thread(queue_ingest, layer, body)
            return JSONResponse(queued, status_code=202, headers=NO_STORE)
        # The seed's IngestView is synchronous: run it as such, in a worker thread.
        result = await asyncio.to_thread(ingest, layer, body)
    except (BadIngest, InvalidMessage, MessageTooLarge) as exc:
        return _error(400, str(exc))
    except BackendUnavailable as exc:
        return _error(503, str(exc))
    except Exception as exc:  # still JSON with a reason, never a bare 500 page
        logger.exception("tidings demo: /ingest failed")
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")
    return JSONResponse(result, headers=NO_STORE)


async def http_error(request: Request, exc: Exception) -> Response:
    """Every HTTP error as JSON with a reason, like the API's own errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    where = request.url.path
    if status == 404:
        return _error(404, f"Nothing at {where}; try / or /chat/lobby/.")
    if status == 405:
        return _error(405, f"{request.method} is not allowed on {where}.")
    return _error(status, str(getattr(exc, "detail", exc)))


http_app = Starlette(
    routes=[
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/ingest", ingest_endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/chat/", chat_lobby),
        Route("/chat/{room_name:str}/", chat),
        Mount("/static", StaticFiles(packages=[(__package__, "static")]), name="static"),
        Mount("/notifications", notifications.http_app()),
    ],
    exception_handlers={HTTPException: http_error},
)


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
    # Starlette's Message type is a MutableMapping, ours a dict: the same ASGI app.
    http = cast(ASGIApp, http_app)
    return ProtocolTypeRouter({"http": http, "websocket": AllowedHostsOriginValidator(websockets)})
