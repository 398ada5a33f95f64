"""Automatic pipelining: concurrent commands to one client share one round trip.

One ``EVALSHA`` round trip through redis.asyncio costs ~35-70 µs of client CPU, while the
same command inside a pipeline of 64 costs ~7 µs (docs/redis-design.md, "Measured"). So
commands issued concurrently on one event loop are queued and sent together:

- A lone call is sent at once: the sender task starts on the next loop turn, so a call
  never waits for company, only for calls made in the same loop turn.
- While a round trip is in flight, new calls queue; they go together in the next one
  (at most ``max_batch`` per trip). One trip at a time, in call order, so the order in
  which one caller's calls reach Redis is the order it made them.
- Each call gets its own result, or its own exception (``execute(raise_on_error=False)``):
  a ``WRONGTYPE`` in the middle fails that call only.
- A cancelled caller leaves the others alone. A call cancelled before its trip is built is
  not sent; one cancelled while its trip is in flight may have taken effect (as with a
  plain redis-py call cancelled mid-command).
- A connection error fails every call of that trip with the same error, so each caller's
  retry logic (``Connections.run``) can act. The pipeline is not retried here: its commands
  are not idempotent, and clients are built with ``Retry(..., 0)`` so redis-py does not
  resend them either.

Not thread-safe, and bound to the loop of its first call (redis.asyncio clients are too).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

if TYPE_CHECKING:
    from .deadlines import Deadlines

DEFAULT_MAX_BATCH = 512


@dataclass
class PipelineStatistics:
    """What one ``AutoPipeline`` did; written only by its sender task."""

    calls: int = 0  # commands sent to Redis
    round_trips: int = 0  # pipelines executed
    largest_batch: int = 0
    failed_trips: int = 0  # trips that ended in a connection-level error


class AutoPipeline:
    """Sends commands made concurrently on one loop to ``client`` in shared round trips."""

    def __init__(
        self,
        client: aioredis.Redis,
        max_batch: int = DEFAULT_MAX_BATCH,
        trip_deadline: tuple[Deadlines, float] | None = None,
    ) -> None:
        """``trip_deadline``: (the loop's deadlines, seconds) bounding each round trip; a
        trip cut off fails its calls and the queued ones with a connection error."""
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be an int >= 1, got {max_batch!r}.")
        self.client = client
        self.trip_deadline = trip_deadline
        self.max_batch = max_batch
        self.stats = PipelineStatistics()
        self._queue: deque[tuple[tuple[Any, ...], asyncio.Future[Any]]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._in_flight = False
        self._aborting = False

    async def call(self, *args: Any) -> Any:
        """Run one command (``"EVALSHA", sha, 1, key, ...``) and return its reply.

        Raises what the command raised (e.g. ``ResponseError``, ``NoScriptError``), or the
        connection error of its round trip.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "AutoPipeline is bound to the event loop of its first call; make one per loop."
            )
        if self._closed:
            raise RedisConnectionError("the auto-pipeline is closed")
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((args, future))
        if self._sender is None:
            self._sender = loop.create_task(self._send_all(), name="tidings-autopipeline")
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                future.exception()  # answered as we were cancelled: mark it retrieved
            raise

    async def _send_all(self) -> None:
        """Send queued calls, one round trip at a time, until the queue is empty."""
        queue = self._queue
        batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        try:
            while queue:
                batch = []
                while queue and len(batch) < self.max_batch:
                    item = queue.popleft()
                    if not item[1].cancelled():  # its caller gave up before it was sent
                        batch.append(item)
                if batch:
                    await self._send(batch)
                batch = []
        except asyncio.CancelledError:
            _fail(batch, RedisConnectionError("the auto-pipeline was stopped mid round trip"))
            # not sent at all: a caller may retry these even when a repeat would be harmful
            _fail(queue, RedisConnectionError("the auto-pipeline stopped before sending this"))
            queue.clear()
            raise
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for args, _ in batch:
            pipe.execute_command(*args)
        stats = self.stats
        stats.round_trips += 1
        stats.calls += len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        deadlines, token = None, None
        if self.trip_deadline is not None:
            deadlines, seconds = self.trip_deadline
            token = deadlines.add(asyncio.current_task(), seconds)
        self._in_flight = True
        try:  # execute() returns the connection to the pool, whatever happens
            replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            fired = self._aborting or (deadlines is not None and deadlines.fired(token))
            if not fired or task is None or task.uncancel() > 0:
                raise
            # Cut off by its deadline (a silent connection; redis-py disconnected it): the
            # sender carries on with the calls queued behind this trip.
            stats.failed_trips += 1
            _fail(batch, RedisConnectionError("no reply within the round trip's deadline"))
            return
        except Exception as exc:  # the trip failed as a whole: every call gets the error
            stats.failed_trips += 1
            _fail(batch, exc)
            return
        finally:
            self._in_flight = self._aborting = False
            if deadlines is not None:
                deadlines.remove(token)
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # cancelled while in flight
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def abort_trip(self) -> None:
        """Cut off the round trip in flight, if any, as its deadline would: a caller
        whose own deadline fired has seen the connection go silent, and the calls queued
        behind that trip must not wait for the trip's deadline too."""
        sender = self._sender
        if self._in_flight and not self._aborting and sender is not None and not sender.done():
            self._aborting = True
            sender.cancel()

    async def aclose(self) -> None:
        """Fail queued calls and stop the sender; later calls raise ``ConnectionError``."""
        self._closed = True
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        _fail(self._queue, RedisConnectionError("the auto-pipeline is closed"))
        self._queue.clear()


def _fail(items: Any, error: BaseException) -> None:
    for _, future in items:
        if not future.done():
            future.set_exception(error)
