"""Clients per event loop and host, Lua scripts called by hash, Redis errors translated.

redis-py's asyncio connections belong to the loop that made them, and a layer is used
from many loops (``async_to_sync`` makes a new one per call), so each loop gets its own
clients. Scripts are sent once per server (``SCRIPT LOAD``) and then called by SHA1.
Every call runs under a bounded wait: while Redis is unreachable it is retried with
backoff, then ``BackendUnavailable`` names the host (never its password).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoScriptError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...exceptions import BackendUnavailable, ConfigurationError
from .hosts import Host

T = TypeVar("T")
TRANSIENT = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)
Client = aioredis.Redis


class Script:
    """A Lua script from ``scripts/<name>.lua``, run with EVALSHA."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = resources.files(__package__).joinpath(f"scripts/{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    async def __call__(self, client: Client, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await command(client, "EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await command(client, "SCRIPT", "LOAD", self.source)
            return await command(client, "EVALSHA", self.sha, len(keys), *keys, *args)


async def command(client: Client, *args: Any) -> Any:
    """One Redis command (redis-py's typed helpers mix sync and async types)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


class Connections:
    """One client per (event loop, host), made on first use."""

    def __init__(self, hosts: list[Host], timeout: float) -> None:
        self.hosts = hosts
        self.timeout = timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Client | None]]
        self._clients = weakref.WeakKeyDictionary()

    def client(self, index: int) -> Client:
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            clients = self._clients[loop] = [None] * len(self.hosts)
            self._close_with(loop)
        client = clients[index]
        if client is None:
            client = clients[index] = self._make(self.hosts[index])
        return client

    def _close_with(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close this loop's clients when the loop closes.

        ``async_to_sync`` runs every call on a new loop and then closes it; without this
        each call would leave a connection open (seen: 200 calls, 200 sockets).
        """
        original = loop.close

        def close() -> None:
            clients = self._clients.pop(loop, None) or []
            # Only when no loop runs in this thread (else run_until_complete cannot);
            # layer.sync closes its loop's clients itself before stopping it.
            idle = asyncio.events._get_running_loop() is None
            if idle and not loop.is_running() and not loop.is_closed():
                for client in clients:
                    if client is not None:
                        with contextlib.suppress(Exception):
                            loop.run_until_complete(client.aclose())
            original()

        loop.close = close  # type: ignore[method-assign]

    def _make(self, host: Host) -> Client:
        options: dict[str, Any] = {
            "socket_connect_timeout": min(self.timeout, 5.0),
            "socket_keepalive": True,
            "health_check_interval": 15,
            "retry": Retry(NoBackoff(), 0),  # the layer retries, within its own bound
        }
        options.update(host.options)
        try:
            return aioredis.Redis.from_url(host.url, **options)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"Cannot use Redis host {host.label}: {exc}") from None

    async def run(self, index: int, op: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``op`` on host ``index``, retrying transient failures for up to ``timeout``."""
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        while True:
            try:
                return await op(self.client(index))
            except AuthenticationError as exc:
                raise BackendUnavailable(
                    f"Redis at {self.hosts[index].label} refused the credentials: {exc}. "
                    "Check the user and password in hosts."
                ) from None
            except TRANSIENT as exc:
                if time.monotonic() + delay > deadline:
                    raise BackendUnavailable(
                        f"Redis at {self.hosts[index].label} is unreachable "
                        f"({type(exc).__name__}: {exc}) for {self.timeout:g}s; check that it "
                        "is running and that hosts is right, or raise timeout."
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            except ResponseError as exc:
                raise BackendUnavailable(
                    f"Redis at {self.hosts[index].label} answered with an error: {exc}"
                ) from None

    async def close_current(self) -> None:
        """Close the running loop's clients (before that loop stops)."""
        for client in self._clients.pop(asyncio.get_running_loop(), None) or ():
            if client is not None:
                await client.aclose()

    async def close(self) -> None:
        """Close this loop's clients and forget every other loop's."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - close() is a coroutine
            loop = None
        mine = self._clients.pop(loop, None) if loop is not None else None
        for other in list(self._clients):
            if other.is_closed():
                self._clients.pop(other, None)
        for client in mine or ():
            if client is not None:
                await client.aclose()
