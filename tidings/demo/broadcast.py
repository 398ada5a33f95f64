"""Group broadcast in one screen: listeners join a group, a synchronous "view" posts.

The shape of the seeds' dashboard without a browser: each listener stands for an
open page (a consumer with its own channel, in the ``index`` group); the poster
stands for the synchronous ``IngestView`` and uses ``layer.sync.group_send``.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time

from ..layers.memory import MemoryChannelLayer

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")  # one write, so lines from two threads never mix


def run(pages: int = 3, posts: int = 3) -> int:
    layer = MemoryChannelLayer(capacity=2)
    return asyncio.run(_main(layer, pages, posts))


async def _main(layer: MemoryChannelLayer, pages: int, posts: int) -> int:
    channels = [await layer.new_channel() for _ in range(pages)]
    for channel in channels:
        await layer.group_add("index", channel)
    print(f"{pages} pages joined group 'index' on {layer!r}")

    async def page(n: int, channel: str) -> None:
        while True:
            event = await layer.receive(channel)
            chart = " ".join(f"{d}:{v:>2}" for d, v in zip(DAYS, event["data"], strict=True))
            say(f"  page {n} redraws  {chart}")

    readers = [asyncio.create_task(page(n, c)) for n, c in enumerate(channels, 1)]

    def ingest_view() -> None:  # a synchronous caller, like a Django view or a task
        for i in range(posts):
            data = [random.randint(1, 10) for _ in DAYS]
            report = layer.sync.group_send("index", {"type": "chart.update", "data": data})
            say(f"POST /ingest #{i + 1} -> {report}")
            time.sleep(0.2)  # let the pages redraw between posts

    thread = threading.Thread(target=ingest_view)
    thread.start()
    await asyncio.to_thread(thread.join)
    await asyncio.sleep(0.1)

    print("\nNow one page stops reading (capacity is 2) and the poster keeps going:")
    readers[0].cancel()
    for _ in range(3):
        report = await layer.group_send("index", {"type": "chart.update", "data": [0] * 7})
        print(f"group_send -> delivered {report.delivered}, dropped {report.dropped}")
        await asyncio.sleep(0.05)
    print("Drops are reported, counted and logged - never silent:", layer.statistics())
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await layer.close()
    return 0
