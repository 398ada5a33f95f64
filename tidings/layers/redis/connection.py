"""Clients per event loop and host, Lua scripts called by hash, Redis errors translated.

redis-py's asyncio connections belong to the loop that made them, and a layer is used
from many loops (``async_to_sync`` makes a new one per call), so each loop gets its own
clients. Scripts are sent once per server (``SCRIPT LOAD``) and then called by SHA1.
Every call runs under a hard deadline (``timeout``): while Redis is unreachable, silent
(stopped, paused, a dead connection) or answers with a transient error (OOM, READONLY,
BUSY, LOADING) it is retried with backoff, then ``BackendUnavailable`` names the host and the
reason (never its password). A command cut off by the deadline leaves its connection in an
unknown state, so redis-py disconnects it (never reused).

One-command calls (every script: send, group_send, group_add, heartbeats...) go through one
``AutoPipeline`` per client: calls made concurrently on a loop share a round trip, a lone
call is sent at once. Blocking reads (BLMPOP, BLPOP) and transactions use the client itself.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import random
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...exceptions import BackendUnavailable, ConfigurationError
from .autopipeline import AutoPipeline
from .deadlines import Deadlines
from .deployments import ClusterHost, SentinelHost
from .hosts import Host
from .sentinel import MasterWatch

T = TypeVar("T")
_WAIT_FOR_LOSES_CANCELS = sys.version_info < (3, 12)
TRANSIENT = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)
Client = aioredis.Redis
# Error replies a healthy deployment passes through (memory full, a replica after a
# failover, a long script, a server loading its data): wait and retry, never crash.
TRANSIENT_REPLIES = {
    "OOM": "Redis is out of memory (maxmemory reached with a noeviction policy)",
    "READONLY": "Redis is a read-only replica (a failover in progress, or hosts names a replica)",
    "BUSY": "Redis is busy running a long script",
    "LOADING": "Redis is loading its data",
    "MASTERDOWN": "the replica lost its primary",
    "TRYAGAIN": "Redis asked to try again",
    "NOREPLICAS": "Redis has not enough replicas",
    "CLUSTERDOWN": "the Redis Cluster is down (a master failed and no replica took over yet)",
    "MOVED": "a hash slot is moving to another master (resharding or failover)",
    "NOSCRIPT": "Redis lost its script cache (a replica took over, or a restart)",
}
# How long past its own block time a blocking read may stay unanswered before its
# connection counts as dead (a partition, a failover that moved the address).
GRACE = 2.0


class MovingSlot(Exception):
    """A script wrote nothing and asked to be run again: a key it needs (a member's
    mailbox) is half-way through moving to another master (resharding)."""


RETRY = b"retry"  # what such a script returns first


def transient_reply(exc: BaseException) -> str | None:
    """Why an error reply is transient (to be waited out), or None if it is not."""
    if not isinstance(exc, ResponseError):
        return None
    # redis-py strips the code of the replies it maps to a class of their own.
    if isinstance(exc, OutOfMemoryError):
        code = "OOM"
    elif isinstance(exc, ReadOnlyError):
        code = "READONLY"
    elif isinstance(exc, TryAgainError):
        code = "TRYAGAIN"
    elif isinstance(exc, ClusterDownError):
        code = "CLUSTERDOWN"
    elif isinstance(exc, NoScriptError):  # loaded already, yet gone: a new master
        code = "NOSCRIPT"
    elif isinstance(exc, AskError) or "non local key" in str(exc):
        # MOVED/ASK (redis-py follows them, up to a limit), or an undeclared key whose slot
        # moved: group_send.lua reads those before any write, so nothing ran
        code = "MOVED"
    else:
        code = str(exc).split(" ", 1)[0].upper()
    return TRANSIENT_REPLIES.get(code)


_REFRESHED: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
REFRESH_EVERY = 0.2  # seconds: many callers failing at once ask the cluster once


async def refresh_slots(client: Any) -> None:
    """Ask a Cluster which master owns which slot now (redis-py's cluster client does so
    by itself only on MOVED, not after a connection error with its own retries off)."""
    now = time.monotonic()
    if now - _REFRESHED.get(client, -1e9) < REFRESH_EVERY:
        return
    _REFRESHED[client] = now
    with contextlib.suppress(Exception):
        await client.nodes_manager.initialize()


def never_sent(exc: BaseException) -> bool:
    """Whether a connection error happened before the command could reach Redis (no
    connection could be made), rather than with the command written and its reply lost."""
    text = str(exc)
    return (
        "connecting to" in text  # redis-py: "Error 111 connecting to host:port. ..."
        or "Timeout connecting" in text
        or "auto-pipeline is closed" in text  # AutoPipeline: not sent
        or "auto-pipeline stopped before sending" in text
        or type(exc).__name__ in ("MasterNotFoundError", "SlaveNotFoundError")
    )


def cluster_trouble(exc: BaseException) -> str | None:
    """Why redis-py's cluster client gave up on a command that did not run (its slot map
    is changing: a failover, a resharding), or None for any other error."""
    if isinstance(exc, SlotNotCoveredError) or (
        isinstance(exc, RedisClusterException) and "cannot be connected" in str(exc)
    ):
        return f"the cluster is reconfiguring ({type(exc).__name__}: {exc})"
    if isinstance(exc, ClusterError) and not isinstance(exc, ResponseError):
        # "TTL exhausted": redirected (MOVED/ASK) more times than it follows
        return f"the cluster is reconfiguring ({type(exc).__name__}: {exc})"
    return None


def jittered(delay: float) -> float:
    """``delay`` spread over [delay/2, delay]: processes that lost Redis together do not
    come back in lockstep."""
    return delay * (0.5 + random.random() / 2)


class Script:
    """A Lua script from ``scripts/<name>.lua``, run with EVALSHA."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = resources.files(__package__).joinpath(f"scripts/{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    async def __call__(
        self, via: Client | AutoPipeline | Connection, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """Run on ``via``: a client (one round trip), an auto-pipeline (shared trips) or
        a connection of one's own (the mailbox reader's)."""
        if isinstance(via, AutoPipeline):
            send: Callable[..., Awaitable[Any]] = via.call
        elif isinstance(via, Connection):

            async def send(*command: Any) -> Any:
                await via.send_command(*command)
                return await via.read_response()

        else:
            send = via.execute_command
        try:
            return await send("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            if isinstance(via, AutoPipeline):
                # by the client: a Cluster's pipeline cannot route a keyless command
                client: Any = via.client
                if hasattr(client, "get_primaries"):
                    await self._load_everywhere(client, keys[0])
                else:
                    await client.script_load(self.source)
            else:
                await send("SCRIPT", "LOAD", self.source)
            return await send("EVALSHA", self.sha, len(keys), *keys, *args)

    async def _load_everywhere(self, cluster: Any, key: str) -> None:
        """Load the script on the master owning ``key``, then on every other master, each
        on its own: the one that said NOSCRIPT may be a master the slot map does not name
        for that key yet (a slot being imported there, answering after ASK), and a master
        that is down (a failover) must not keep the others from getting it. One at a time:
        redis-py's cluster client resets itself after a connection error."""
        first = cluster.get_node_from_key(key)
        for node in [first, *(n for n in cluster.get_primaries() if n is not first)]:
            with contextlib.suppress(Exception):
                await cluster.execute_command("SCRIPT", "LOAD", self.source, target_nodes=node)


async def command(client: Client, *args: Any) -> Any:
    """One Redis command (redis-py's typed helpers mix sync and async types)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


_LIVE: weakref.WeakSet[Connections] = weakref.WeakSet()


@atexit.register
def _quiet_exit() -> None:
    """A layer nobody closed goes quietly at interpreter exit: its reader is ended on its
    (idle) loop and its connections closed, instead of "Task was destroyed but it is
    pending!" and exceptions from a coroutine collected half-way through a read."""
    for connections in list(_LIVE):
        with contextlib.suppress(Exception):
            connections.release_all_idle()


@dataclass
class LoopState:
    """What ``Connections`` keeps for one event loop: per host a client and its
    auto-pipeline (made on first use), and the deadlines of the calls in flight."""

    clients: list[Client | None]
    pipelines: list[AutoPipeline | None]
    deadlines: Deadlines


class Connections:
    """One client per (event loop, host), made on first use.

    Callers name a *partition* (``keys.py``); partition ``p`` lives on host
    ``p % len(hosts)`` (one host: a single Redis, a Sentinel-managed master, or a whole
    Cluster, whose client routes each command to the master owning its keys' slot).
    """

    def __init__(
        self, hosts: list[Host | SentinelHost | ClusterHost], timeout: float, partitions: int = 1
    ) -> None:
        self.hosts = hosts
        self.partitions = partitions
        self.timeout = timeout
        # Sentinel-managed clients follow the master (sentinel.py); on_master_moved(index)
        # is called with the old master's address after a client followed a failover.
        self._watches: weakref.WeakKeyDictionary[Client, MasterWatch]
        self._watches = weakref.WeakKeyDictionary()
        self.on_master_moved: Callable[[int, tuple[str, int]], None] | None = None
        self._labels = [host.label for host in hosts]  # parsed once, not per call
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopState]
        self._loops = weakref.WeakKeyDictionary()
        # The last loop's state, found without making a weak reference (every call asks).
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], LoopState] | None = None
        if _WAIT_FOR_LOSES_CANCELS:
            # A socket_timeout makes redis-py read and write through asyncio.wait_for, which
            # on Python < 3.12 can lose a cancellation (CPython gh-86296): the cancelled
            # task then never ends. It is kept away from redis-py and folded into the
            # layer's own deadline (every call is bounded by it anyway).
            for host in hosts:
                wanted = host.options.get("socket_timeout")
                if isinstance(wanted, int | float) and not isinstance(wanted, bool) and wanted > 0:
                    self.timeout = min(self.timeout, float(wanted))
        _LIVE.add(self)

    def host_of(self, partition: int) -> int:
        """The index in ``hosts`` of the host that keeps ``partition``."""
        return partition % len(self.hosts)

    def _state(self, loop: asyncio.AbstractEventLoop) -> LoopState:
        """``loop``'s clients, pipelines and deadlines (made on first use)."""
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        state = self._loops.get(loop)
        if state is None:
            hosts = len(self.hosts)
            state = self._loops[loop] = LoopState([None] * hosts, [None] * hosts, Deadlines())
            self._close_with(loop)
        self._last = (weakref.ref(loop), state)
        return state

    def _forget(self, loop: asyncio.AbstractEventLoop) -> LoopState | None:
        """Drop ``loop``'s state (its clients are the caller's to close)."""
        self._last = None
        return self._loops.pop(loop, None)

    def client(self, partition: int) -> Client:
        """The running loop's client of the host keeping ``partition``."""
        return self._client(self._state(asyncio.get_running_loop()), self.host_of(partition))

    def _client(self, state: LoopState, index: int) -> Client:
        client = state.clients[index]
        if client is None:
            client = state.clients[index] = self._make(self.hosts[index])
            if isinstance(self.hosts[index], SentinelHost):
                self._watches[client] = MasterWatch(self.hosts[index].label, self._moved(index))
        if self._watches:
            watch = self._watches.get(client)
            if watch is not None:
                watch.poke(client)
        return client

    def _moved(self, index: int) -> Callable[[tuple[str, int]], None]:
        def moved(old: tuple[str, int]) -> None:
            if self.on_master_moved is not None:
                self.on_master_moved(index, old)

        return moved

    def _close_with(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close this loop's clients (and end tidings' tasks on it) when the loop closes.

        ``async_to_sync`` runs every call on a new loop and then closes it; without this
        each call would leave a connection open (seen: 200 calls, 200 sockets), and a
        reader left on a closed loop would be "destroyed but pending".
        """
        original = loop.close

        def close() -> None:
            self.release_idle(loop)
            original()

        loop.close = close  # type: ignore[method-assign]

    def release_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """End tidings' tasks on ``loop`` and close its clients, if ``loop`` is idle (not
        running, not closed, and no loop runs in this thread: else nothing can run it)."""
        state = self._forget(loop)
        idle = asyncio.events._get_running_loop() is None
        if not idle or loop.is_running() or loop.is_closed():
            return
        tasks = [
            t
            for t in asyncio.all_tasks(loop)
            if t.get_name().startswith("tidings-") and not t.done()
        ]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            if state is not None:
                loop.run_until_complete(self._close_clients(state))

    def release_all_idle(self) -> None:
        for loop in list(self._loops):
            self.release_idle(loop)

    def _make(self, host: Host | SentinelHost | ClusterHost) -> Client:
        options: dict[str, Any] = {
            "socket_connect_timeout": min(self.timeout, 5.0),
            "socket_keepalive": True,
            # No socket_timeout: redis-py would arm a timer per read and per write (a
            # quarter of a send's cost); the layer's deadlines bound every call instead.
            "health_check_interval": 5,
            "retry": Retry(NoBackoff(), 0),  # the layer retries, within its own bound
        }
        try:
            if isinstance(host, SentinelHost):
                return host.client(**options)  # its own options override these
            if isinstance(host, ClusterHost):
                # RedisCluster takes the same commands, pipelines and scripts as a client
                # of one server (it routes each by its keys' slot), so the layer uses it
                # as one; its own retries follow MOVED/ASK and refresh the slot map.
                return cast(Client, host.client(**options))
            merged = options | dict(host.options)
            if _WAIT_FOR_LOSES_CANCELS:
                merged.pop("socket_timeout", None)  # see __init__
            return aioredis.Redis.from_url(host.url, **merged)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"Cannot use Redis host {host.label}: {exc}") from None

    def pipeline(self, client: Client) -> AutoPipeline:
        """The auto-pipeline of ``client``, one of the running loop's clients."""
        state = self._state(asyncio.get_running_loop())
        for index, known in enumerate(state.clients):
            if known is client:
                return self._pipeline(state, index, client)
        raise ValueError("not a client of this loop's; take it from client()")

    def _pipeline(self, state: LoopState, index: int, client: Client) -> AutoPipeline:
        """The auto-pipeline of host ``index``'s ``client`` (made on first use).

        A round trip has a deadline of its own (``timeout``): a trip on a connection that
        went silent is cut off, which fails its calls with a connection error (each caller
        retries within its own deadline) instead of holding every later call behind it."""
        pipeline = state.pipelines[index]
        if pipeline is None:
            pipeline = state.pipelines[index] = AutoPipeline(
                client, trip_deadline=(state.deadlines, self.timeout)
            )
        return pipeline

    async def script(
        self,
        partition: int,
        script: Script,
        keys: Sequence[str],
        args: Sequence[Any],
        idempotent: bool = True,
    ) -> Any:
        """Run ``script`` in ``partition`` through its auto-pipeline, within ``timeout``
        (``idempotent``: see ``run``)."""

        loop = asyncio.get_running_loop()
        state = self._state(loop)
        index = self.host_of(partition)

        async def call(client: Client) -> Any:
            result = await script(self._pipeline(state, index, client), keys, args)
            if type(result) is list and result and result[0] == RETRY:
                raise MovingSlot()
            return result

        return await self.run(
            partition, call, pipelined=True, idempotent=idempotent, on=(loop, state)
        )

    def abort_trips(self, partition: int) -> None:
        """Cut off the running loop's round trip in flight to ``partition``'s host (a
        caller's deadline fired: the connection is silent or Redis stalled)."""
        pipeline = self._state(asyncio.get_running_loop()).pipelines[self.host_of(partition)]
        if pipeline is not None:
            pipeline.abort_trip()

    def deadlines(self) -> Deadlines:
        """The running loop's deadlines."""
        return self._state(asyncio.get_running_loop()).deadlines

    async def run(
        self,
        partition: int,
        op: Callable[[Client], Awaitable[T]],
        extra: float = 0,
        pipelined: bool = False,
        idempotent: bool = True,
        on: tuple[asyncio.AbstractEventLoop, LoopState] | None = None,
    ) -> T:
        """Run ``op`` on ``partition``'s host; transient failures are retried, and the whole call
        (retries included) ends within ``timeout`` (+ ``extra``, a blocking command's own
        wait) with ``BackendUnavailable``. ``pipelined``: ``op`` goes through the client's
        auto-pipeline, whose trip in flight is aborted if this call's deadline fires.

        Not ``idempotent`` (a send): retried only after errors that prove it did not run
        (refused connections, error replies such as OOM or MOVED, a slot on the move); a
        connection lost after it was written raises ``BackendUnavailable`` saying it may
        or may not have been done, because running it again could deliver it twice.
        ``on``: the running loop and its state, when the caller looked them up already."""
        index = self.host_of(partition)
        label = self._labels[index]
        limit = self.timeout + extra
        problem = "it did not answer"
        delay = 0.05
        if on is None:  # once: on Python 3.11 each loop lookup is a getpid()
            loop = asyncio.get_running_loop()
            on = (loop, self._state(loop))
        loop, state = on
        task = asyncio.current_task(loop)
        deadlines = state.deadlines
        token = deadlines.add(task, limit)
        calling = False  # in op (its call queued or in a trip), not pausing between tries
        try:
            while True:
                client = self._client(state, index)
                try:
                    calling = True
                    return await op(client)
                except AuthenticationError as exc:
                    raise BackendUnavailable(
                        f"Redis at {label} refused the credentials: {exc}. "
                        "Check the user and password in hosts."
                    ) from None
                except TRANSIENT as exc:
                    problem = f"it is unreachable ({type(exc).__name__}: {exc})"
                    if not idempotent and not never_sent(exc):
                        raise BackendUnavailable(
                            f"Redis at {label} was lost during the call ({type(exc).__name__}: "
                            f"{exc}): it may or may not have been done, and is not retried "
                            "(it could be done twice). Retry it if a repeat is harmless."
                        ) from None
                except MovingSlot:
                    problem = "a hash slot it needs is moving to another master (resharding)"
                except ResponseError as exc:
                    reason = transient_reply(exc)
                    if reason is None:
                        raise BackendUnavailable(
                            f"Redis at {label} answered with an error: {exc}"
                        ) from None
                    problem = f"{reason}: {exc}"
                except (ClusterError, RedisClusterException) as exc:
                    reason = cluster_trouble(exc)
                    if reason is None:
                        raise
                    problem = reason
                calling = False
                await asyncio.sleep(jittered(delay))
                delay = min(delay * 2, 1.0)
                if isinstance(self.hosts[index], ClusterHost):
                    # a master failed over or a slot moved: learn the slot map again
                    await refresh_slots(client)
        except asyncio.CancelledError:
            if not deadlines.fired(token) or task is None or task.uncancel() > 0:
                raise  # cancelled by its caller, not (only) by its deadline
            if pipelined and calling:
                # its call's trip, or the one ahead of it, is stuck: the calls queued behind
                # it must not wait too. (Late in a pause between tries it has no trip: the
                # one in flight is another call's.)
                self.abort_trips(partition)
            raise BackendUnavailable(
                f"Redis at {label} failed for {limit:g}s: {problem}. Check that it is "
                "running and that hosts is right, or raise timeout."
            ) from None
        finally:
            deadlines.remove(token)

    async def close_current(self) -> None:
        """Close the running loop's clients (before that loop stops)."""
        state = self._forget(asyncio.get_running_loop())
        if state is not None:
            await self._close_clients(state)

    async def close(self) -> None:
        """Close this loop's clients and forget every other loop's."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - close() is a coroutine
            loop = None
        mine = self._forget(loop) if loop is not None else None
        for other in list(self._loops):
            if other.is_closed():
                self._forget(other)
        if mine is not None:
            await self._close_clients(mine)

    async def _close_clients(self, state: LoopState) -> None:
        """Close one loop's pipelines and clients, on that loop."""
        for pipeline, client in zip(state.pipelines, state.clients, strict=True):
            if pipeline is not None:
                await pipeline.aclose()
            if client is not None:
                await client.aclose()
