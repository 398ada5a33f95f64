"""A consumer is an ASGI app whose events, from the client or the layer, go to methods.

``{"type": "chat.message"}`` calls ``chat_message``. Each connection gets its own
instance, its own channel on the layer (``self.channel_name``) and runs one dispatch
loop over two sources: the ASGI ``receive`` and the layer's ``receive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async

from ..config import any_channel_layer
from ..exceptions import (  # the signals' old import path: tidings.consumers.base
    AcceptConnection,
    DenyConnection,
    HistoryUnavailable,
    NoHandler,
    StopConsumer,
)
from ..rules.handlers import handler_name
from ..types import Message, Receive, Scope, Send

__all__ = [
    "AcceptConnection",
    "AsyncConsumer",
    "DenyConnection",
    "StopConsumer",
    "SyncConsumer",
]


class AsyncConsumer:
    """The dispatch loop: every event is routed to the method its ``type`` names."""

    channel_layer_alias: str | None = "default"
    scope: Scope
    channel_layer: Any
    channel_name: str | None
    base_send: Send

    def __init__(self, **initkwargs: Any) -> None:
        for key, value in initkwargs.items():
            setattr(self, key, value)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "url_route" not in scope and "path_params" in scope:
            # Mounted in Starlette/FastAPI: its route parameters, where Channels code reads them.
            scope = {**scope, "url_route": {"args": (), "kwargs": dict(scope["path_params"])}}
        self.scope = scope
        self.base_send = send
        self.channel_name = None
        sources: list[Callable[[], Awaitable[Message]]] = [receive]
        layer = vars(self).get("channel_layer")  # as_asgi(channel_layer=...)
        if layer is None and self.channel_layer_alias is not None:
            layer = any_channel_layer(self.channel_layer_alias)
        self.channel_layer = layer
        if layer is not None:
            self.channel_name = await layer.new_channel()
            sources.append(functools.partial(layer.receive, self.channel_name))
        with contextlib.suppress(StopConsumer):
            await dispatch_many(sources, self.dispatch)

    async def dispatch(self, message: Message) -> None:
        """Call the handler named by ``message["type"]``."""
        await self._handler(message)(message)

    def _handler(self, message: Message) -> Callable[[Message], Any]:
        name = handler_name(message)
        handler = getattr(self, name, None)
        if handler is None:
            raise NoHandler(
                f"{type(self).__name__} has no method {name}() for message type "
                f"{message.get('type')!r}; add 'def {name}(self, event)' to handle it."
            )
        return handler  # type: ignore[no-any-return]

    async def send(self, message: Message) -> None:
        """Send an ASGI event to the client."""
        await self.base_send(message)

    async def resume_group(self, group: str, since: str | None) -> int | None:
        """Replay through the handlers what ``group`` sent after position ``since``.

        One line after a reconnect: ``recovered = await self.resume_group("index", since)``.
        Returns how many messages were replayed, or None when they can no longer all be
        recovered (trimmed, or the history was lost): then tell the client to reload.
        """
        if not since:
            return 0
        try:
            missed = await self.channel_layer.group_history(group, since=since)
        except (HistoryUnavailable, ValueError):
            return None
        for message in missed:
            await self.dispatch(message)
        return len(missed)

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> ConsumerApp:
        """An ASGI app that makes a new consumer per connection.

        ``initkwargs`` become attributes of each consumer; ``channel_layer=layer`` gives
        it that layer instead of the one ``channel_layer_alias`` names.
        """
        return ConsumerApp(cls, initkwargs)


class ConsumerApp:
    """The ASGI app ``as_asgi()`` returns: a new consumer per connection.

    An object rather than a function, so that Starlette's ``WebSocketRoute`` and
    ``Route`` mount it as an ASGI app (they call plain functions as ``f(websocket)``).
    """

    def __init__(self, consumer_class: type[AsyncConsumer], initkwargs: dict[str, Any]) -> None:
        self.consumer_class = consumer_class
        self.consumer_initkwargs = initkwargs
        self.__name__ = consumer_class.__name__
        self.__qualname__ = consumer_class.__qualname__
        self.__doc__ = consumer_class.__doc__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        consumer = self.consumer_class(**self.consumer_initkwargs)
        await consumer(scope, receive, send)

    def __repr__(self) -> str:
        return f"<{self.consumer_class.__qualname__}.as_asgi()>"


class SyncConsumer(AsyncConsumer):
    """Handlers are plain functions, run in a worker thread one at a time."""

    async def dispatch(self, message: Message) -> None:
        handler = self._handler(message)
        await sync_to_async(handler, thread_sensitive=False)(message)

    def send(self, message: Message) -> None:  # type: ignore[override]
        """Send an ASGI event to the client (from the handler's thread)."""
        async_to_sync(self.base_send)(message)


async def dispatch_many(
    sources: list[Callable[[], Awaitable[Message]]],
    dispatch: Callable[[Message], Awaitable[None]],
) -> None:
    """Wait on every source at once and dispatch what arrives, in order, until stopped.

    On exit the pending receives are cancelled; layer receives are cancellation-safe,
    so nothing addressed to this consumer is lost by closing it.
    """
    tasks = [asyncio.ensure_future(source()) for source in sources]
    try:
        while True:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for i, task in enumerate(tasks):
                if task.done():
                    await dispatch(task.result())
                    tasks[i] = asyncio.ensure_future(sources[i]())
    finally:
        for task in tasks:
            task.cancel()
        # asyncio.wait, not gather: if our caller cancels us meanwhile, the CancelledError
        # we raise must be the caller's own (anyio's cancel scopes, e.g. Starlette's
        # TestClient, recognise theirs by its message; gather would raise a bare one).
        await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: a failed receive is not "never retrieved"
