"""The demo's consumers: the seed dashboard's IndexConsumer and the seed ChatConsumer."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from ..consumers import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from ..exceptions import HistoryUnavailable


class IndexConsumer(AsyncJsonWebsocketConsumer):
    """Every open dashboard page: joins ``index``, redraws on ``websocket.ingest``."""

    groups = ["index"]  # noqa: RUF012 - Channels' API

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "hello", "pid": os.getpid()})
        since = parse_qs(self.scope.get("query_string", b"").decode()).get("since", [None])[0]
        if since:  # a page coming back: replay what it missed, or say it cannot
            recovered = await self.resume_group("index", since)
            await self.send_json({"type": "recovery", "recovered": recovered})
        else:  # a page just opened: draw the latest week, not the sample
            latest = await self._latest()
            if latest is not None:
                await self.send_json({"type": "latest", "event": latest})

    async def _latest(self) -> dict[str, Any] | None:
        """The last ``index`` broadcast kept in the group's history, if any."""
        try:
            kept = await self.channel_layer.group_history("index")
        except HistoryUnavailable:  # a layer built without history_groups=["index"]
            return None
        return dict(kept[-1]) if kept else None

    async def websocket_ingest(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class ChatConsumer(AsyncWebsocketConsumer):
    """A chat room per URL: what one page types, every page in the room shows."""

    async def connect(self) -> None:
        self.room_group_name = f"chat_{self.scope['url_route']['kwargs']['room_name']}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            content = json.loads(text_data or "{}")
        except ValueError:
            return  # not JSON: nothing to say
        if not isinstance(content, dict):
            return
        name = str(content.get("name") or "anonymous").strip()[:30] or "anonymous"
        await self.channel_layer.group_send(
            self.room_group_name,
            {
                "type": "chat_message",
                "message": str(content.get("message", ""))[:2000],
                "name": name,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        reply = {key: event.get(key) for key in ("message", "name", "time")}
        await self.send(text_data=json.dumps({**reply, "pid": os.getpid()}))
