"""Automatic pipelining: concurrent commands to one client share one round trip.

One ``EVALSHA`` round trip through redis.asyncio costs ~35-70 µs of client CPU, while the
same command inside a pipeline of 64 costs ~7 µs (docs/redis-design.md, "Measured"). So
commands issued concurrently on one event loop are queued and sent together:

- A lone call is sent at once: the sender task starts on the next loop turn, so a call
  never waits for company, only for calls made in the same loop turn. When the last trip
  carried one call and the task calling now made the call before too (a caller awaiting
  each call in turn), its lone call makes its trip in its own task: two loop turns less
  per call (``_call_inline``). Calls from other tasks queue as usual: tasks woken together
  (consumers of one mailbox read, each replying) then share one trip instead of the
  first leaving alone (measured: point-to-point +4-8 %).
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

A trip is redis-py's pipeline round trip without the ``Pipeline`` object around it: one
``send_packed_command``, one ``read_response`` per command (hiredis), the client's response
callbacks. Trips go one at a time, so while calls keep coming the auto-pipeline keeps one
connection of the client's pool checked out from trip to trip: a checkout costs ~13 µs and
a loop turn with redis-py 7 (it polls the socket under a zero timeout). Before each trip on
the held connection, the kernel is asked whether the server closed it meanwhile (a
zero-timeout ``select``, no loop turn), so calls are never written into a closed
connection, where they would fail as "may or may not have been done". When the queue is
empty the sender task lingers ``linger`` seconds (50 ms, longer while lone calls keep
coming) for the next call, so a lone call made then costs neither a task nor a checkout;
after that it gives the connection back to the pool and ends. On a Sentinel deployment the
connection goes back as soon as the queue is empty: a new connection there means asking
the sentinels, so a blocking read must find this one idle in the pool (with the sentinels
down it could not make its own). The connection also goes back when a trip fails (redis-py
disconnected it), when the pool marked it for reconnection (a followed Sentinel failover),
and on ``aclose()``.
Commands are packed by hiredis's ``pack_command`` (``pack``): redis-py's asyncio
``pack_command`` runs its Python encoder on every argument and was ~40 % of a sender's
Python time; anything ``pack`` does not know goes to redis-py's packer.

Not thread-safe, and bound to the loop of its first call (redis.asyncio clients are too).
"""

from __future__ import annotations

import asyncio
import inspect
import select
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from .partitions import key_slot

if TYPE_CHECKING:
    from .deadlines import Deadlines

DEFAULT_MAX_BATCH = 512
DEFAULT_LINGER = 0.05


@dataclass
class PipelineStatistics:
    """What one ``AutoPipeline`` did; written by whichever task makes a trip (the sender,
    or a lone caller's own: one trip at a time)."""

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
        linger: float = DEFAULT_LINGER,
    ) -> None:
        """``trip_deadline``: (the loop's deadlines, seconds) bounding each round trip; a
        trip cut off fails its calls and the queued ones with a connection error.
        ``linger``: how long the sender task and its connection wait for the next call
        once the queue is empty."""
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
        self._conn: AbstractConnection | None = None  # checked out of the client's pool
        self._wakeup: asyncio.Future[None] | None = None  # the idle sender waits on it
        # A lone call's trip made in its caller's task (see ``call``): that task, and a
        # future done when the trip is, which the sender and ``aclose`` wait for.
        self._inline: asyncio.Task[Any] | None = None
        self._inline_done: asyncio.Future[None] | None = None
        self._last_inline = 0.0  # loop time of the last one: the sender lingers on after it
        self._lone = False  # the last trip carried one call: calls come one at a time
        self._last_caller = 0  # id() of the task that made the latest call
        self.linger = linger
        # A Sentinel pool makes a new connection only by asking the sentinels: an idle
        # connection goes back to it at once, so a blocking read never depends on them.
        # A RedisCluster client has no one pool: its trips are its pipeline's (routed per slot).
        pool = getattr(client, "connection_pool", None)
        self._pooled = pool is not None
        self._hold_idle = self._pooled and not hasattr(pool, "sentinel_manager")

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
        task = asyncio.current_task(loop)
        caller, self._last_caller = self._last_caller, id(task)
        if (
            self._lone
            and caller == self._last_caller
            and not self._queue
            and not self._in_flight
            and (self._sender is None or self._wakeup is not None)
            and (self._hold_idle or not self._pooled)
        ):
            return await self._call_inline(loop, task, args, future)
        self._queue.append((args, future))
        if self._sender is None:
            self._sender = loop.create_task(self._send_all(), name="tidings-autopipeline")
        else:
            wakeup = self._wakeup
            if wakeup is not None and not wakeup.done():
                wakeup.set_result(None)  # the sender lingers for company: it sends at once
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                future.exception()  # answered as we were cancelled: mark it retrieved
            raise

    async def _call_inline(
        self,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any] | None,
        args: tuple[Any, ...],
        future: asyncio.Future[Any],
    ) -> Any:
        """A lone call, nothing queued or in flight: its trip is made in the caller's own
        task, which saves the two loop turns of handing it to the sender task and back
        (a sequential sender's every call). Calls made meanwhile queue behind it; the
        sender task (started here if there is none) sends them once this trip is done,
        and lingers with the connection as after its own trips."""
        self._inline = task
        done = self._inline_done = loop.create_future()
        try:
            await self._send([(args, future)])
        finally:
            self._inline = self._inline_done = None
            self._last_inline = loop.time()
            done.set_result(None)
            if self._sender is None and not self._closed:
                self._sender = loop.create_task(self._send_all(), name="tidings-autopipeline")
            elif self._queue and self._wakeup is not None and not self._wakeup.done():
                self._wakeup.set_result(None)
        return future.result()

    async def _send_all(self) -> None:
        """Send queued calls, one round trip at a time, until the queue is empty."""
        queue = self._queue
        loop = asyncio.get_running_loop()
        batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        try:
            while True:
                while queue:
                    if self._inline_done is not None:  # a lone call's trip goes first
                        await self._inline_done
                        continue
                    batch = []
                    while queue and len(batch) < self.max_batch:
                        item = queue.popleft()
                        if not item[1].cancelled():  # its caller gave up before it was sent
                            batch.append(item)
                    if batch:
                        await self._send(batch)
                    batch = []
                # Idle: wait a moment for the next call, which then costs neither a new
                # task nor a pool checkout; then give the connection back and end.
                if not self._hold_idle:
                    await self._give_back()
                wakeup = self._wakeup = loop.create_future()
                timer = loop.call_later(self.linger, _wake, wakeup)  # cheaper than a timeout
                try:
                    await wakeup
                finally:
                    timer.cancel()
                    self._wakeup = None
                if queue:
                    continue
                if self._inline is not None or loop.time() - self._last_inline < self.linger:
                    continue  # lone calls keep using the connection: linger on
                await self._give_back()  # calls made meanwhile: the loop goes on
                if not queue:
                    return
        except asyncio.CancelledError:
            _fail(batch, RedisConnectionError("the auto-pipeline was stopped mid round trip"))
            # not sent at all: a caller may retry these even when a repeat would be harmful
            _fail(queue, RedisConnectionError("the auto-pipeline stopped before sending this"))
            queue.clear()
            raise
        finally:
            self._sender = None
            self._wakeup = None

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        stats = self.stats
        stats.round_trips += 1
        stats.calls += len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        self._lone = len(batch) == 1
        task = asyncio.current_task(self._loop)  # the sender's, or a lone caller's
        deadlines, token = None, None
        if self.trip_deadline is not None:
            deadlines, seconds = self.trip_deadline
            token = deadlines.add(task, seconds)
        self._in_flight = True
        try:  # _round_trip returns the connection to the pool, whatever happens
            replies = await self._round_trip([args for args, _ in batch])
        except asyncio.CancelledError:
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

    async def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write and read one reply each: what redis-py's
        ``Pipeline.execute(raise_on_error=False)`` does for a non-transactional pipeline,
        error replies included as exceptions in their place."""
        client = self.client
        if not self._pooled:
            return await _cluster_trip(client, commands)
        pool = client.connection_pool
        conn = self._conn
        if conn is None:
            conn = self._conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        if _closed_by_server(conn):
            # Closed since its last use (a restart, CLIENT KILL), held or just checked out
            # (the pool's own check can miss it): found before sending, so the calls cannot
            # fail in a way that looks like a reply lost after they ran, which sends must
            # not retry.
            await conn.disconnect(nowait=True)
            await conn.connect()
        try:
            packed = pack(commands, conn)
            await conn.send_packed_command(packed)
            replies: list[Any] = []
            callbacks = client.response_callbacks
            for args in commands:
                try:
                    reply = await conn.read_response()
                except ResponseError as exc:
                    replies.append(exc)
                    continue
                callback = callbacks.get(args[0])
                if callback is not None:
                    reply = callback(reply)
                    if inspect.isawaitable(reply):
                        reply = await reply
                replies.append(reply)
        except BaseException:
            # A trip that did not finish leaves unread replies behind: the connection
            # must not be reused (redis-py's send and read disconnect it on their own
            # failures; this covers a cancellation between them, too).
            self._conn = None
            await conn.disconnect(nowait=True)
            await pool.release(conn)
            raise
        if conn.should_reconnect():  # the pool wants it closed (a Sentinel failover)
            self._conn = None
            await pool.release(conn)
        return replies

    async def _give_back(self) -> None:
        """The held connection (if any) back to the client's pool."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self.client.connection_pool.release(conn)

    def abort_trip(self) -> None:
        """Cut off the round trip in flight, if any, as its deadline would: a caller
        whose own deadline fired has seen the connection go silent, and the calls queued
        behind that trip must not wait for the trip's deadline too."""
        sender = self._inline or self._sender
        if self._in_flight and not self._aborting and sender is not None and not sender.done():
            self._aborting = True
            sender.cancel()

    async def aclose(self) -> None:
        """Fail queued calls and stop the sender; later calls raise ``ConnectionError``."""
        self._closed = True
        if self._inline_done is not None:  # a lone call's trip (it has its deadline)
            await asyncio.wait([self._inline_done])
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        _fail(self._queue, RedisConnectionError("the auto-pipeline is closed"))
        self._queue.clear()
        await self._give_back()


_UTF8 = ("utf-8", "utf8", "UTF-8", "UTF8")


def pack(commands: Sequence[Sequence[Any]], conn: AbstractConnection) -> bytes | list[bytes]:
    """The RESP bytes of ``commands``, as redis-py's ``pack_commands`` makes them, packed
    by hiredis (C) when every argument is str, bytes or int; anything else (a float, a bool
    redis-py refuses, a command name with a space), or an encoding other than UTF-8, is
    left to redis-py's packer so nothing it would send differently goes out from here."""
    encoder = conn.encoder
    if encoder.encoding not in _UTF8 or encoder.encoding_errors != "strict":
        return conn.pack_commands(commands)
    out: list[bytes] = []
    for args in commands:
        name = args[0]
        if type(name) is str and " " in name:
            return conn.pack_commands(commands)
        for arg in args:
            if type(arg) not in _PLAIN:
                return conn.pack_commands(commands)
        out.append(hiredis.pack_command(tuple(args)))
    return b"".join(out)


_PLAIN = frozenset((bytes, str, int))


async def _cluster_trip(client: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    """One trip on a Cluster: a pipeline per master, side by side. redis-py's cluster
    pipeline fails a whole trip when one master fails it (say, connecting to a master just
    killed, an error that says "never sent") although the calls for the other masters have
    run: retried, they ran twice. Split by master, each call gets its own master's outcome."""
    groups: dict[str, list[int]] = {}
    for index, args in enumerate(commands):
        groups.setdefault(_master_of(client, args), []).append(index)

    async def trip(indexes: list[int]) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for index in indexes:
            pipe.execute_command(*commands[index])
        return list(await pipe.execute(raise_on_error=False))

    if len(groups) == 1:
        return await trip(list(range(len(commands))))
    outcomes = await asyncio.gather(*(trip(ix) for ix in groups.values()), return_exceptions=True)
    replies: list[Any] = [None] * len(commands)
    for indexes, outcome in zip(groups.values(), outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome  # a cancellation: the trip's deadline or the caller's
            for index in indexes:
                replies[index] = outcome
        else:
            for index, reply in zip(indexes, outcome, strict=True):
                replies[index] = reply
    return replies


def _master_of(client: Any, args: Sequence[Any]) -> str:
    """The name of the master the client's slot map sends ``args`` to ("" if unknown)."""
    try:
        if str(args[0]).upper() in ("EVALSHA", "EVAL"):
            key = args[3] if int(args[2]) > 0 else None
        else:
            key = args[1] if len(args) > 1 else None
        if key is None:
            return ""
        return str(client.nodes_manager.get_node_from_slot(key_slot(key)).name)
    except Exception:  # no slot map yet, a slot not covered: redis-py's routing decides
        return ""


def _closed_by_server(conn: AbstractConnection) -> bool:
    """Whether this idle connection is unusable: closed by the server, or holding stray
    data. Asked of the kernel (a zero-timeout ``select`` on the socket: readable means an
    end of file or bytes nobody asked for) plus what the stream reader already took in.
    Neither costs a loop turn, unlike redis-py's checkout check (``can_read_destructive``,
    ~13 µs and a turn, which a sequential sender paid on every call), and both see a close
    that arrived while the loop was busy (redis-py's check alone missed one, measured)."""
    reader = getattr(conn, "_reader", None)
    writer = getattr(conn, "_writer", None)
    if reader is None or writer is None or reader.at_eof() or len(reader._buffer):
        return True
    sock = writer.transport.get_extra_info("socket")
    if sock is None:
        return True
    try:
        readable, _, _ = select.select((sock.fileno(),), (), (), 0)
    except (OSError, ValueError):  # closed under us: a negative or stale descriptor
        return True
    return bool(readable)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(items: Any, error: BaseException) -> None:
    for _, future in items:
        if not future.done():
            future.set_exception(error)
