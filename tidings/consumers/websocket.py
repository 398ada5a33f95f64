"""WebSocket consumers, async and sync, text and JSON, with Channels' method names."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync

from ..exceptions import AcceptConnection, DenyConnection, StopConsumer
from ..types import Message
from .base import AsyncConsumer, SyncConsumer


class AsyncWebsocketConsumer(AsyncConsumer):
    """Override ``connect``, ``receive`` and ``disconnect``; ``groups`` are joined for you."""

    groups: list[str] | None = None

    def __init__(self, **initkwargs: Any) -> None:
        super().__init__(**initkwargs)
        if self.groups is None:
            self.groups = []

    async def websocket_connect(self, message: Message) -> None:
        """Join ``groups``, then call ``connect``."""
        for group in self.groups or ():
            await self.channel_layer.group_add(group, self.channel_name)
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.close()

    async def connect(self) -> None:
        """Called when a client opens the socket; accepts by default."""
        await self.accept()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        """Accept the WebSocket."""
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = list(headers)
        await super().send(message)

    async def websocket_receive(self, message: Message) -> None:
        """A frame arrived: pass it to ``receive``."""
        if message.get("text") is not None:
            await self.receive(text_data=message["text"])
        else:
            await self.receive(bytes_data=message.get("bytes"))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client."""

    async def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """Send a text or bytes frame to the client."""
        if text_data is not None:
            await super().send({"type": "websocket.send", "text": text_data})
        elif bytes_data is not None:
            await super().send({"type": "websocket.send", "bytes": bytes_data})
        else:
            raise ValueError("send() needs text_data or bytes_data.")
        if close:
            await self.close(close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the WebSocket from the server side."""
        message: Message = {"type": "websocket.close"}
        if code is not None and code is not True:
            message["code"] = code
        if reason:
            message["reason"] = reason
        await super().send(message)

    async def websocket_disconnect(self, message: Message) -> None:
        """Leave ``groups``, call ``disconnect``, stop the consumer."""
        for group in self.groups or ():
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message.get("code", 1000))
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        """Called when the socket closed."""


class AsyncJsonWebsocketConsumer(AsyncWebsocketConsumer):
    """Frames are JSON: override ``receive_json``; reply with ``send_json``."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data:
            await self.receive_json(await self.decode_json(text_data))
        else:
            raise ValueError("JSON consumers need text frames; got a binary frame.")

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON frame."""

    async def send_json(self, content: Any, close: bool = False) -> None:
        """Encode ``content`` as JSON and send it."""
        await super().send(text_data=await self.encode_json(content), close=close)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return json.loads(text_data)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content)


class WebsocketConsumer(SyncConsumer):
    """The synchronous twin of ``AsyncWebsocketConsumer``: handlers run in a thread."""

    groups: list[str] | None = None

    def __init__(self, **initkwargs: Any) -> None:
        super().__init__(**initkwargs)
        if self.groups is None:
            self.groups = []

    def websocket_connect(self, message: Message) -> None:
        for group in self.groups or ():
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        try:
            self.connect()
        except AcceptConnection:
            self.accept()
        except DenyConnection:
            self.close()

    def connect(self) -> None:
        self.accept()

    def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = list(headers)
        super().send(message)

    def websocket_receive(self, message: Message) -> None:
        if message.get("text") is not None:
            self.receive(text_data=message["text"])
        else:
            self.receive(bytes_data=message.get("bytes"))

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client."""

    def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if text_data is not None:
            super().send({"type": "websocket.send", "text": text_data})
        elif bytes_data is not None:
            super().send({"type": "websocket.send", "bytes": bytes_data})
        else:
            raise ValueError("send() needs text_data or bytes_data.")
        if close:
            self.close(close)

    def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        message: Message = {"type": "websocket.close"}
        if code is not None and code is not True:
            message["code"] = code
        if reason:
            message["reason"] = reason
        super().send(message)

    def websocket_disconnect(self, message: Message) -> None:
        for group in self.groups or ():
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        self.disconnect(message.get("code", 1000))
        raise StopConsumer()

    def disconnect(self, code: int) -> None:
        """Called when the socket closed."""


class JsonWebsocketConsumer(WebsocketConsumer):
    """Synchronous JSON consumer: ``receive_json`` and ``send_json``."""

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data:
            self.receive_json(self.decode_json(text_data))
        else:
            raise ValueError("JSON consumers need text frames; got a binary frame.")

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON frame."""

    def send_json(self, content: Any, close: bool = False) -> None:
        super().send(text_data=self.encode_json(content), close=close)

    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        return json.loads(text_data)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return json.dumps(content)
