"""In-process fan-out: one sender, N members each received by its own task.

Shape (the same for every contender): N receiver tasks each wait on their own channel;
the sender makes ``sends`` group sends back to back; the clock runs from the first send
until the last receiver has its last message, or until ``timeout`` (then the rate is
what arrived so far, marked partial).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .results import Outcome

SCENARIO = "in-process fan-out"


async def _run(
    members: int,
    sends: int,
    setup: Callable[[int], Awaitable[list[Any]]],
    receive: Callable[[Any], Awaitable[Any]],
    broadcast: Callable[[dict[str, Any]], Awaitable[Any]],
    timeout: float,
) -> tuple[float, int, bool]:
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
    timed_out = False
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        timed_out = True
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed, sum(counts), timed_out


def _outcome(name: str, members: int, sends: int, run: tuple[float, int, bool]) -> Outcome:
    elapsed, received, timed_out = run
    return Outcome(
        SCENARIO,
        name,
        members,
        received / elapsed if elapsed else 0.0,
        "deliveries/s",
        members * sends,
        received,
        timed_out=timed_out,
    )


async def bare_queue(members: int, sends: int, timeout: float = 60) -> Outcome:
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

    run = await _run(members, sends, setup, receive, broadcast, timeout)
    return _outcome("asyncio.Queue floor", members, sends, run)


async def layer_fanout(
    name: str, layer: Any, members: int, sends: int, timeout: float = 60
) -> Outcome:
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
        run = await _run(members, sends, setup, layer.receive, broadcast, timeout)
    finally:
        await layer.flush()
    return _outcome(name, members, sends, run)
