"""Consumers for plain ASGI apps (uvicorn, Starlette, FastAPI), with Channels' API.

Code written for ``channels.generic.websocket`` runs with only its imports changed::

    from tidings.consumers import AsyncWebsocketConsumer
"""

from ..exceptions import AcceptConnection, DenyConnection, StopConsumer
from .base import AsyncConsumer, SyncConsumer
from .websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)

__all__ = [
    "AcceptConnection",
    "AsyncConsumer",
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "DenyConnection",
    "JsonWebsocketConsumer",
    "StopConsumer",
    "SyncConsumer",
    "WebsocketConsumer",
]
