"""The layer's methods for synchronous code (views, tasks, management commands).

``layer.sync.group_send("index", {...})`` runs the coroutine on one event loop
that lives in a background thread for the life of the layer, instead of a new
loop per call as ``async_to_sync`` makes. Safe to call from many threads at once.
``async_to_sync(layer.group_send)`` keeps working as well.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .layers.base import BaseChannelLayer
    from .report import GroupSendReport
    from .types import Message

T = TypeVar("T")


class SyncLayer:
    """Blocking twins of a layer's coroutines; ``timeout`` bounds every call."""

    def __init__(self, layer: BaseChannelLayer, timeout: float = 30.0) -> None:
        self.layer = layer
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError(
                "layer.sync is for synchronous code, but this thread runs an event loop; "
                "use 'await layer.<method>(...)' here instead."
            )
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():  # forked: the thread did not come along
                self._loop, self._thread, self._pid = None, None, os.getpid()
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="tidings-sync", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def stop(self) -> None:
        """Stop the background loop; the next call starts a new one."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None and thread.is_alive():
            asyncio.run_coroutine_threadsafe(_shutdown(loop, self.layer), loop)
            if thread is not threading.current_thread():
                thread.join(5)
                if not thread.is_alive():
                    loop.close()

    def send(self, channel: str, message: Message) -> None:
        """``layer.send`` for synchronous code."""
        self._run(self.layer.send(channel, message))

    def group_send(self, group: str, message: Message) -> GroupSendReport:
        """``layer.group_send`` for synchronous code; returns its report."""
        return self._run(self.layer.group_send(group, message))

    def group_add(self, group: str, channel: str) -> None:
        """``layer.group_add`` for synchronous code."""
        self._run(self.layer.group_add(group, channel))

    def group_discard(self, group: str, channel: str) -> None:
        """``layer.group_discard`` for synchronous code."""
        self._run(self.layer.group_discard(group, channel))

    def new_channel(self, prefix: str = "specific") -> str:
        """``layer.new_channel`` for synchronous code."""
        return self._run(self.layer.new_channel(prefix))

    def receive(self, channel: str, timeout: float | None = None) -> Message:
        """``layer.receive`` for synchronous code; raises ``TimeoutError`` after ``timeout``."""
        return self._run(self.layer.receive(channel), timeout)

    def flush(self) -> None:
        """``layer.flush`` for synchronous code."""
        self._run(self.layer.flush())


async def _shutdown(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer) -> None:
    """Cancel what still runs on the background loop (e.g. a timed-out receive), release
    the layer's connections of this loop, then stop."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    try:
        await layer.release_loop()
    finally:
        loop.stop()
