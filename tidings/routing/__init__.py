"""Routing for plain ASGI apps: by protocol, by URL path, by channel name, and an Origin check.

application = ProtocolTypeRouter({
    "http": http_app,
    "websocket": AllowedHostsOriginValidator(URLRouter([
        path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
    ])),
    "channel": ChannelNameRouter({"thumbnails": ThumbnailConsumer.as_asgi()}),
})

Its pure rules sit next to it: ``paths.py`` (Django-style path patterns) and ``origins.py``
(whether an ``Origin`` is allowed), each tested without I/O (``tests/routing/``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..exceptions import ConfigurationError, InvalidName
from ..rules.names import check_channel_name, is_process_specific
from ..types import ASGIApp, Receive, Scope, Send
from .origins import origin_allowed
from .paths import PathPattern, compile_path

logger = logging.getLogger("tidings.routing")
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Route:
    """One URL pattern and the app it leads to."""

    pattern: PathPattern
    app: ASGIApp


def path(pattern: str, app: ASGIApp, name: str | None = None) -> Route:
    """A route: ``path("chat/<str:room>/", ChatConsumer.as_asgi())``.

    ``name`` is accepted so Django-style routing files run unchanged; nothing reverses
    routes here, so it is not kept."""
    del name
    return Route(compile_path(pattern), app)


class ProtocolTypeRouter:
    """Sends each connection to the app for its scope type (``http``, ``websocket``...)."""

    def __init__(self, application_mapping: Mapping[str, ASGIApp]) -> None:
        self.application_mapping = dict(application_mapping)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.application_mapping.get(scope["type"])
        if app is None:
            if scope["type"] == "lifespan":
                await _lifespan_ok(receive, send)
                return
            raise ValueError(
                f"No application configured for scope type {scope['type']!r}; "
                f"the router knows {', '.join(self.application_mapping)}."
            )
        await app(scope, receive, send)


class URLRouter:
    """Matches the path against routes in order; the first match gets the connection.

    ``scope["url_route"]["kwargs"]`` holds the matched parameters. Routes whose app is
    itself a ``URLRouter`` match a prefix and pass the rest of the path on.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = scope.get("path_remaining", scope.get("path", "/")).lstrip("/")
        for route in self.routes:
            nested = isinstance(route.app, URLRouter)
            found = route.pattern.match(current, prefix=nested)
            if found is None:
                continue
            kwargs, rest = found
            outer = scope.get("url_route", {"args": (), "kwargs": {}})
            inner = dict(scope)
            inner["url_route"] = {"args": outer["args"], "kwargs": {**outer["kwargs"], **kwargs}}
            if nested:
                inner["path_remaining"] = rest
            await route.app(inner, receive, send)
            return
        logger.info("No route for %s %s", scope.get("type"), scope.get("path"))
        await _not_found(scope, receive, send)


class ChannelNameRouter:
    """Sends each ``{"type": "channel", "channel": name}`` scope to the app for ``name``.

    The app for background workers (``tidings worker MODULE:APP CHANNEL...``), as in
    Channels: one scope per channel name, the jobs on that channel arrive through
    ``receive``. The names are normal channels (no ``!``), shared by every worker process.
    Raises ``ConfigurationError`` for a scope naming a channel it has no app for.
    """

    def __init__(self, application_mapping: Mapping[str, ASGIApp]) -> None:
        if not isinstance(application_mapping, Mapping):
            raise TypeError(
                "ChannelNameRouter takes a mapping of channel name to app, e.g. "
                '{"thumbnails": ThumbnailConsumer.as_asgi()}; got '
                f"{type(application_mapping).__name__}."
            )
        for name in application_mapping:
            if is_process_specific(check_channel_name(name)):
                raise InvalidName(
                    f"ChannelNameRouter channel {name!r} is process-specific (has '!'); "
                    "workers share normal channel names such as 'thumbnails'."
                )
        self.application_mapping = dict(application_mapping)

    @property
    def channels(self) -> list[str]:
        """The channel names this router has apps for, in the order given."""
        return list(self.application_mapping)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "channel" not in scope:
            raise ConfigurationError(
                f"ChannelNameRouter got a {scope.get('type')!r} scope without a 'channel' key; "
                "it routes only 'channel' scopes: put it under "
                'ProtocolTypeRouter({"channel": ...}) and run it with tidings worker.'
            )
        app = self.application_mapping.get(scope["channel"])
        if app is None:
            raise ConfigurationError(
                f"No application configured for channel name {scope['channel']!r}; "
                f"this ChannelNameRouter knows {', '.join(map(repr, self.channels))}."
            )
        await app(scope, receive, send)


class OriginValidator:
    """Refuses WebSockets whose ``Origin`` header matches none of ``allowed_origins``."""

    def __init__(self, application: ASGIApp, allowed_origins: Iterable[str]) -> None:
        self.application = application
        self.allowed_origins = list(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = None
            for key, value in scope.get("headers", ()):
                if key.lower() == b"origin":
                    origin = value.decode("latin-1")
            if not origin_allowed(origin, self.allowed_origins):
                logger.warning("Refused WebSocket from origin %r", origin)
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 403})
                return
        await self.application(scope, receive, send)


UNAUTHENTICATED_CLOSE_CODE = 4401


class RequireUser:
    """Lets through only connections whose ``scope["user"]`` is authenticated.

    Put it behind the middleware that sets ``scope["user"]`` (Starlette's
    ``AuthenticationMiddleware``, Channels' ``AuthMiddlewareStack``). An anonymous
    WebSocket is accepted and closed at once with ``close_code`` (4401, "unauthorized"),
    so a browser's ``onclose`` sees the code (a refusal during the handshake reaches a
    browser as 1006 with no reason); an anonymous HTTP request gets 401. A scope without
    ``"user"`` is a ``ConfigurationError``: the authentication middleware is missing.
    """

    def __init__(self, application: ASGIApp, close_code: int = UNAUTHENTICATED_CLOSE_CODE) -> None:
        self.application = application
        self.close_code = close_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("websocket", "http"):
            await self.application(scope, receive, send)
            return
        if "user" not in scope:
            raise ConfigurationError(
                "RequireUser found no scope['user']: put it behind the authentication "
                "middleware (Starlette's AuthenticationMiddleware, Channels' AuthMiddlewareStack)."
            )
        if getattr(scope["user"], "is_authenticated", False) is True:
            await self.application(scope, receive, send)
            return
        logger.info("Refused an unauthenticated %s to %s", scope["type"], scope.get("path"))
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.close", "code": self.close_code, "reason": "login required"}
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"Login required."})


def AllowedHostsOriginValidator(
    application: ASGIApp, allowed_hosts: Iterable[str] | None = None
) -> OriginValidator:
    """OriginValidator over ``allowed_hosts``: Django's ``ALLOWED_HOSTS`` when configured,
    else the given list, else localhost only."""
    if allowed_hosts is None:
        allowed_hosts = _django_allowed_hosts() or DEFAULT_ALLOWED_HOSTS
    return OriginValidator(application, allowed_hosts)


def _django_allowed_hosts() -> list[str] | None:
    try:
        from django.conf import settings
    except ImportError:
        return None
    if not settings.configured:
        return None
    hosts = list(getattr(settings, "ALLOWED_HOSTS", []))
    if settings.DEBUG and not hosts:
        return list(DEFAULT_ALLOWED_HOSTS)
    return hosts


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.close", "code": 4404})
    elif scope["type"] == "http":
        body = f"No route for {scope.get('path')}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _lifespan_ok(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
