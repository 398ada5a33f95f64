"""The "redis-py floor": what the client library allows, with nothing of a layer around it.

``redis_floor`` makes the same number of round trips a scenario's senders make (``calls``
commands from ``senders`` concurrent tasks on one client), each a one-line Lua script, once
one command per round trip and once through ``AutoPipeline``. A layer's rate divided by the
floor's says how much of the client's budget the layer itself spends.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from ..layers.redis.autopipeline import AutoPipeline
from .results import Outcome

NOOP = "return 1"


async def redis_floor(url: str, calls: int, senders: int, pipelined: bool = True) -> Outcome:
    """``calls`` EVALSHA of a no-op script from ``senders`` tasks; rate in calls/s."""
    client = aioredis.Redis.from_url(url, max_connections=max(8, senders))
    try:
        sha = await client.script_load(NOOP)
        pipeline = AutoPipeline(client)
        call = pipeline.call if pipelined else client.execute_command
        done = [0]
        latencies: list[float] = []

        async def sender(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                reply = await call("EVALSHA", sha, 0)  # not inside +=: it reads before awaiting
                done[0] += int(reply == 1)
                latencies.append(time.perf_counter() - started)

        shares = [calls // senders + (1 if i < calls % senders else 0) for i in range(senders)]
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(sender(n) for n in shares))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        await client.aclose()
    mode = "auto-pipelined" if pipelined else "one per round trip"
    return Outcome(
        "redis-py floor",
        f"redis-py ({mode})",
        calls,
        calls / elapsed,
        "calls/s",
        calls,
        done[0],
        latencies=latencies,
        note=f"{senders} senders; {pipeline.stats.round_trips} round trips" if pipelined else "",
        cpu_per_1000=cpu / calls * 1000,
    )
