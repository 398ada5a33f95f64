"""End to end over WebSockets: group_send -> server -> N browsers' worth of sockets.

A uvicorn server (one worker) holds ``clients`` WebSockets, all in group "e2e"; a separate
client process holds the sockets; this process broadcasts every ``interval`` for
``seconds``. Per broadcast: the time from group_send to the *last* client's receipt.
Server CPU comes from /proc (user + system) across the broadcasting window.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from contextlib import suppress
from pathlib import Path

from ..testing import free_port
from .crossproc import Worker
from .peers import REDIS_LAYERS, PeerMissing, forget_prefix, make_redis_layer
from .results import Outcome

SERVERS = {
    "tidings": ("tidings.bench.e2e_apps:tidings_app", "tidings consumers + RedisChannelLayer"),
    "core": ("tidings.bench.e2e_apps:django_app", "Django Channels + channels_redis core"),
}
ROOT = str(Path(__file__).resolve().parents[2])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def end_to_end(
    kind: str, url: str, clients: int, seconds: float, interval: float = 0.1
) -> Outcome:
    app, label = SERVERS[kind]
    if kind == "core":
        import importlib.util

        for package in ("django", "channels", "channels_redis"):
            if importlib.util.find_spec(package) is None:
                raise PeerMissing(f"{label} needs {package}: pip install 'tidings[bench]'")
    prefix = f"be{secrets.token_hex(3)}"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TIDINGS_URL": f"{url}?prefix={urllib.parse.quote(prefix)}&capacity=1000",
        "TIDINGS_BENCH_REDIS": url,
        "TIDINGS_BENCH_PREFIX": prefix,
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws",
            "websockets-sansio",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sender = make_redis_layer(kind, url, prefix, capacity=1000)
    load = None
    try:
        await _wait_port(port, server)
        load = Worker("wsclients", kind, f"ws://127.0.0.1:{port}/ws/", prefix, clients)
        await load.expect("READY", 120)
        await asyncio.sleep(0.5)
        broadcasts = max(1, int(seconds / interval))
        cpu_before = cpu_seconds(server.pid)
        next_at = time.monotonic()
        for n in range(broadcasts):
            body = json.dumps({"n": n, "t": time.time()})
            await sender.group_send("e2e", {"type": "bench.tick", "body": body})
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        result = await load.expect("RESULT", 120)
        cpu = cpu_seconds(server.pid) - cpu_before  # the idle tail adds next to nothing
    finally:
        if load is not None:
            load.stop()
        server.terminate()
        with suppress(subprocess.TimeoutExpired):
            server.wait(10)
        for name in ("flush", "close_pools", "close"):
            with suppress(Exception):
                await getattr(sender, name)()
        await forget_prefix(url, prefix)
    received = result["received"]
    return Outcome(
        "WebSocket end to end",
        label,
        clients,
        received / max(result["span"], 1e-9),
        "deliveries/s",
        clients * broadcasts,
        received,
        result["duplicates"],
        result["last_per_broadcast"],
        cpu_per_1000=cpu / max(received / 1000, 1e-9),
        note=f"{broadcasts} broadcasts every {interval * 1000:.0f} ms",
    )


async def _wait_port(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if server.poll() is not None:
                err = server.stderr.read() if server.stderr else ""
                raise RuntimeError(f"bench server exited: {err[-1500:]}") from None
            await asyncio.sleep(0.2)
    raise RuntimeError("bench server did not listen in 30 s")


__all__ = ["REDIS_LAYERS", "SERVERS", "end_to_end"]
