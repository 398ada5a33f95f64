"""The "redis-py floor": what the client library allows, with nothing of a layer around it.

``redis_floor`` makes the same number of round trips a scenario's senders make (``calls``
commands from ``senders`` concurrent tasks on one client), each a one-line Lua script, once
one command per round trip and once through ``AutoPipeline``. A layer's rate divided by the
floor's says how much of the client's budget the layer itself spends.

``BareGroupSend`` is the same idea for the sequential fan-out row: tidings' own
group_send.lua call, made by a bare redis-py client (no report, no local delivery, no
deadline, no retry), so the row shows what tidings' protocol allows when its client side
costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from ..codec import encode
from ..layers.redis.autopipeline import AutoPipeline
from .results import Outcome

NOOP = "return 1"
BARE = "group_send.lua via bare redis-py"


class BareGroupSend:
    """``await send(message)``: the ``EVALSHA`` of group_send.lua that ``layer.group_send
    (group, message)`` makes, sent by a plain redis-py client and its reply not read into
    a report. The layer must have loaded its scripts (one group_send of its own first);
    not for a group that keeps history (its call has more keys and arguments)."""

    def __init__(self, layer: Any, url: str, group: str) -> None:
        _, self.keys, self.header = layer._send_plan(group)
        self.sha = layer.scripts["group_send"].sha
        self.fixed = layer._group_send_args
        self.wire = layer.wire
        self.client = aioredis.Redis.from_url(url)

    async def __call__(self, message: dict[str, Any]) -> Any:
        data = self.wire(encode(message))
        keys = self.keys
        return await self.client.execute_command(  # type: ignore[no-untyped-call]
            "EVALSHA", self.sha, len(keys), *keys, self.header, data, *self.fixed
        )

    async def aclose(self) -> None:
        await self.client.aclose()


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
