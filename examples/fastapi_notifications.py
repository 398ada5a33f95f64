"""Per-user notifications in FastAPI, authenticated by Starlette's own middleware.

Run it (one process, or several sharing Redis):

    export SESSION_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    export TIDINGS_URL=redis://127.0.0.1:6379/0        # or leave unset: memory://, one process
    uvicorn fastapi_notifications:app --app-dir examples --port 8001

Then log in (a signed session cookie) and send yourself something:

    curl -c jar -X POST localhost:8001/login -H 'content-type: application/json' \\
         -d '{"username": "alice", "password": "wonderland"}'
    curl -b jar -X POST localhost:8001/notify/7 -H 'content-type: application/json' \\
         -d '{"message": "hello alice"}'

while a socket listens on ws://localhost:8001/ws/notify/: a page of this site after
logging in (the browser sends the cookie), or any client sending the cookie or
``Authorization: Bearer alice-api-token`` (and an ``Origin`` of this site).

Only user 7's sockets get it. An anonymous socket, a forged cookie or an unknown token
is accepted and closed at once with code 4401 (``tidings.routing.RequireUser``); a socket
opened by a page of another site (its Origin) is refused at the handshake.
NotificationConsumer and send_notification_to_user are seed 001's code, imports changed.
"""

import hmac
import json
import os
import secrets
from contextlib import asynccontextmanager

from asgiref.sync import async_to_sync
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import WebSocketRoute

from tidings import get_channel_layer
from tidings.consumers import AsyncWebsocketConsumer
from tidings.integrations.starlette import BearerTokenBackend, SessionBackend, User
from tidings.routing import AllowedHostsOriginValidator, RequireUser

# -- seed 001, unchanged but for the imports ------------------------------------------


class NotificationConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user_id = self.scope["user"].id
        self.group_name = f"notifications_{self.user_id}"

        # Add the consumer to the group
        await self.channel_layer.group_add(self.group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Remove the consumer from the group
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def send_notification(self, event):
        # Send the notification to the WebSocket client
        await self.send(text_data=json.dumps(event))


def send_notification_to_user(user_id, message):
    channel_layer = get_channel_layer()
    async_to_sync(channel_layer.group_send)(
        f"notifications_{user_id}",  # Group name
        {
            "type": "send_notification",  # Method to call in consumers
            "message": message,
        },
    )


# -- the app: users, login, and Starlette's authentication --------------------------

# Demo accounts; a real app checks hashed passwords in its database.
USERS = {"alice": (7, "wonderland"), "bob": (8, "builder")}
API_TOKENS = {"alice-api-token": 7, "bob-api-token": 8}


async def verify_token(token: str) -> User | None:
    for known, user_id in API_TOKENS.items():
        if hmac.compare_digest(known, token):
            return User(user_id)
    return None


@asynccontextmanager
async def lifespan(app):
    yield
    await get_channel_layer().close()


app = FastAPI(
    lifespan=lifespan,
    routes=[
        WebSocketRoute(
            "/ws/notify/",
            NotificationConsumer.as_asgi(),
            # Outermost first: pages of other sites are refused (their Origin), then
            # sockets without a logged-in user.
            middleware=[Middleware(AllowedHostsOriginValidator), Middleware(RequireUser)],
        )
    ],
    middleware=[
        # A random secret logs everyone out on restart and differs between processes:
        # set SESSION_SECRET in production.
        Middleware(
            SessionMiddleware,
            secret_key=os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32),
        ),
        Middleware(
            AuthenticationMiddleware,
            backend=BearerTokenBackend(verify_token, fallback=SessionBackend()),
        ),
    ],
)


class Login(BaseModel):
    username: str
    password: str


class Notification(BaseModel):
    message: str


@app.post("/login")
async def login(body: Login, request: Request) -> dict[str, int]:
    user_id, password = USERS.get(body.username, (None, ""))
    if user_id is None or not hmac.compare_digest(password, body.password):
        raise HTTPException(401, "Unknown user or wrong password.")
    request.session.update(user_id=user_id, username=body.username)
    return {"id": user_id}


@app.post("/logout")
async def logout(request: Request) -> dict[str, bool]:
    request.session.clear()
    return {"ok": True}


@app.post("/notify/{user_id}")
def notify(user_id: int, body: Notification, request: Request) -> dict[str, int]:
    # A plain def: FastAPI runs it in a thread, where the seed's sync sender works as is.
    if not request.user.is_authenticated:
        raise HTTPException(401, "Log in first.")
    send_notification_to_user(user_id, body.message)
    return {"to": user_id}
