"""Starlette and FastAPI: who is on a socket, from Starlette's own authentication.

Starlette's ``SessionMiddleware`` (a cookie signed with itsdangerous) and
``AuthenticationMiddleware`` put ``scope["user"]`` on HTTP *and* WebSocket scopes; these
two backends give it the ``.id`` that Channels-style consumers read
(``self.scope["user"].id``), and ``tidings.routing.RequireUser`` refuses anonymous sockets::

    app = FastAPI(
        routes=[WebSocketRoute("/ws/notify/", NotificationConsumer.as_asgi(),
                               middleware=[Middleware(RequireUser)])],
        middleware=[
            Middleware(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"]),
            Middleware(AuthenticationMiddleware, backend=BearerTokenBackend(
                verify_token, fallback=SessionBackend())),
        ],
    )

A login view stores the id: ``request.session.update(user_id=7, username="alice")``.
Needs ``pip install 'tidings[server]'`` (starlette, itsdangerous).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection

__all__ = ["BearerTokenBackend", "SessionBackend", "User"]

AuthResult = tuple[AuthCredentials, BaseUser] | None


@dataclass(frozen=True)
class User(BaseUser):
    """An authenticated user with the ``id`` (and ``username``) consumers read."""

    id: int | str
    username: str = ""

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username or str(self.id)

    @property
    def identity(self) -> str:
        return str(self.id)


class SessionBackend(AuthenticationBackend):
    """The user whose id a login view put in Starlette's signed session, else anonymous.

    Reads ``session[key]`` (and ``session["username"]``); needs ``SessionMiddleware``
    outside ``AuthenticationMiddleware``. A cookie whose signature does not verify is
    ignored by ``SessionMiddleware``, so a forged cookie is simply anonymous.
    """

    def __init__(self, key: str = "user_id") -> None:
        self.key = key

    async def authenticate(self, conn: HTTPConnection) -> AuthResult:
        user_id = conn.session.get(self.key)
        if user_id is None:
            return None
        return AuthCredentials(["authenticated"]), User(user_id, conn.session.get("username", ""))


class BearerTokenBackend(AuthenticationBackend):
    """``Authorization: Bearer <token>``: ``await verify(token)`` returns the user or None.

    An unknown or malformed token is anonymous (so ``RequireUser`` refuses it with its
    documented close code). Without an ``Authorization`` header, ``fallback`` decides
    (e.g. ``SessionBackend()`` for browsers, which cannot set headers on a WebSocket).
    """

    def __init__(
        self,
        verify: Callable[[str], Awaitable[BaseUser | None]],
        fallback: AuthenticationBackend | None = None,
    ) -> None:
        self.verify = verify
        self.fallback = fallback

    async def authenticate(self, conn: HTTPConnection) -> AuthResult:
        header = conn.headers.get("authorization")
        if header is None:
            return await self.fallback.authenticate(conn) if self.fallback else None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user = await self.verify(token.strip())
        if user is None or not user.is_authenticated:
            return None
        return AuthCredentials(["authenticated"]), user
