"""Interpreter exit with layers nobody closed (as channels_redis's own test suite leaves them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..procs import ROOT

SCRIPT = """
import asyncio, sys
from tidings.layers.redis import RedisChannelLayer

async def main():
    layer = RedisChannelLayer(hosts=[sys.argv[1]], prefix="fexit")
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.send(channel, {"type": "t"})
    await layer.receive(channel)
    globals()["layer"] = layer

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
if sys.argv[2] == "close-loop":
    loop.close()
"""


@pytest.mark.parametrize("ending", ["close-loop", "leave-loop-open"])
def test_a_layer_nobody_closed_goes_quietly(own_redis, ending):
    """Promise: no "Task was destroyed but it is pending!", no exception ignored in a
    coroutine, no lost-Redis warning when a process ends without closing its layer,
    whether or not its event loop was closed."""
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", SCRIPT, own_redis.url, ending],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    noise = [
        line
        for line in done.stderr.splitlines()
        if "unclosed event loop" not in line  # the script's own loop, left open on purpose
        and "_warn(" not in line
    ]
    assert not noise, "\n".join(noise)
