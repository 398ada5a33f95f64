"""In-process fan-out: one sender, N members each received by its own task.

Shape (the same for every contender): N receiver tasks each wait on their own
channel; the sender makes ``sends`` group sends back to back; the clock runs
from the first send until the last receiver has its last message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class FanoutResult:
    """One contender's figures for one group size."""

    name: str
    members: int
    sends: int
    seconds: float
    received: int
    note: str = ""

    @property
    def expected(self) -> int:
        return self.members * self.sends

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    @property
    def lost(self) -> int:
        return self.expected - self.received


async def _run(
    members: int,
    sends: int,
    setup: Callable[[int], Awaitable[list[Any]]],
    receive: Callable[[Any], Awaitable[Any]],
    broadcast: Callable[[dict[str, Any]], Awaitable[Any]],
    timeout: float,
) -> tuple[float, int]:
    handles = await setup(members)
    counts = [0] * members
    done = asyncio.Event()
    remaining = members

    async def member(i: int) -> None:
        nonlocal remaining
        handle = handles[i]
        for _ in range(sends):
            await receive(handle)
            counts[i] += 1
        remaining -= 1
        if remaining == 0:
            done.set()

    tasks = [asyncio.create_task(member(i)) for i in range(members)]
    await asyncio.sleep(0)  # every receiver is now waiting
    start = time.perf_counter()
    for n in range(sends):
        await broadcast({"type": "bench.tick", "n": n, "payload": "x" * 32})
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed, sum(counts)


async def bare_queue(members: int, sends: int, timeout: float = 60) -> FanoutResult:
    """The floor: a list of ``asyncio.Queue`` and a loop of ``put_nowait``."""
    queues: list[asyncio.Queue[Any]] = []

    async def setup(n: int) -> list[Any]:
        queues.extend(asyncio.Queue() for _ in range(n))
        return list(queues)

    async def receive(q: asyncio.Queue[Any]) -> Any:
        return await q.get()

    async def broadcast(message: dict[str, Any]) -> None:
        for q in queues:
            q.put_nowait(message)

    seconds, received = await _run(members, sends, setup, receive, broadcast, timeout)
    return FanoutResult("asyncio.Queue floor", members, sends, seconds, received)


async def layer_fanout(
    name: str, layer: Any, members: int, sends: int, timeout: float = 60
) -> FanoutResult:
    """Any Channels-style layer: ``new_channel``, ``group_add``, ``group_send``, ``receive``."""
    group = "bench-fanout"

    async def setup(n: int) -> list[Any]:
        channels = [await layer.new_channel() for _ in range(n)]
        for channel in channels:
            await layer.group_add(group, channel)
        return channels

    async def broadcast(message: dict[str, Any]) -> None:
        await layer.group_send(group, message)

    try:
        seconds, received = await _run(members, sends, setup, layer.receive, broadcast, timeout)
    finally:
        await layer.flush()
    return FanoutResult(name, members, sends, seconds, received)
