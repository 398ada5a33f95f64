"""Deadlines for the calls in flight on one event loop, without a timer per call."""

from __future__ import annotations

import asyncio
import time
from typing import Any


class Deadlines:
    """The calls in flight on one event loop and when each must end.

    One sweeping task (alive only while calls are in flight) cancels the late ones, at
    most ``TICK`` after their deadline: a timer per call (``asyncio.timeout``) costs
    about a quarter of a send.
    """

    TICK = 0.05

    def __init__(self) -> None:
        self.calls: dict[object, tuple[float, asyncio.Task[Any]]] = {}
        self.late: set[object] = set()
        self.sweeper: asyncio.Task[None] | None = None

    def add(self, task: asyncio.Task[Any] | None, seconds: float) -> object:
        token = object()
        if task is not None:
            self.calls[token] = (time.monotonic() + seconds, task)
            if self.sweeper is None or self.sweeper.done():
                self.sweeper = asyncio.get_running_loop().create_task(
                    self._sweep(), name="tidings-deadlines"
                )
        return token

    def remove(self, token: object) -> None:
        self.calls.pop(token, None)
        self.late.discard(token)

    def fired(self, token: object) -> bool:
        return token in self.late

    async def _sweep(self) -> None:
        while self.calls:
            await asyncio.sleep(self.TICK)
            now = time.monotonic()
            for token, (deadline, task) in list(self.calls.items()):
                if deadline <= now:
                    del self.calls[token]
                    self.late.add(token)
                    task.cancel()
