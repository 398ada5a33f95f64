"""Every example runs with the one command its docstring gives, for real.

Servers run as their own processes (``python examples/X.py --port N``) on loopback, on the
in-memory layer or on the session's redis-server; clients are real WebSocket clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from ..servers import free_port, stop_process, wait_http

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WORKER_ARGS = ["worker:application", "thumbnails", "emails"]  # as examples/worker.py says


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("TIDINGS_URL", "REDIS_URL")}
    return {**base, "PYTHONPATH": str(ROOT), **extra}


@contextmanager
def served(script: str, **extra: str) -> Iterator[int]:
    """``python examples/<script> --port N`` running; yields N."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "--port", str(port)],
        env=env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", process)
        yield port
    finally:
        stop_process(process)


async def client(port: int, path: str):
    return await connect(
        f"ws://127.0.0.1:{port}{path}", origin=f"http://127.0.0.1:{port}", open_timeout=10
    )


async def get(port: int, path: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{port}{path}")).text


async def post(port: int, body: object = None, content: bytes | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"http://127.0.0.1:{port}/ingest", json=body, content=content)


async def next_json(ws, timeout: float = 10) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_broadcast_prints_a_report_of_two_deliveries():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "broadcast.py")],
        env=env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "members=2, delivered=2, dropped=0" in result.stdout


async def test_dashboard_on_one_process_redraws_every_page_and_greets_late_ones():
    with served("dashboard.py") as port:
        assert "Dashboard" in await get(port, "/")
        async with await client(port, "/ws/") as a, await client(port, "/ws/") as b:
            await asyncio.sleep(0.2)  # both joined
            reply = await post(port, {"data": [3, 1, -4, 1e6]})
            assert (reply.status_code, reply.json()["delivered"]) == (200, 2), reply.text
            for ws in (a, b):
                assert await next_json(ws) == {"data": [3, 1, -4, 1e6]}
        async with await client(port, "/ws/") as late:  # opened after the POST
            assert await next_json(late) == {"data": [3, 1, -4, 1e6]}
        bad = await post(port, content=b"nope")
        assert bad.status_code == 400 and "data" in bad.json()["error"]


async def test_dashboard_on_two_processes_sharing_redis(redis_server):
    url = f"{redis_server.url}?prefix=exdash{os.getpid()}"
    dashboard = {"TIDINGS_URL": url}
    with served("dashboard.py", **dashboard) as one, served("dashboard.py", **dashboard) as two:
        async with await client(one, "/ws/") as a, await client(two, "/ws/") as b:
            await asyncio.sleep(0.3)
            reply = await post(one, {"data": [1, 2, 3]})
            assert reply.json()["delivered"] == 2, reply.text
            assert await next_json(a) == await next_json(b) == {"data": [1, 2, 3]}


async def test_django_chat_on_two_processes_sharing_redis(redis_server):
    redis = {"REDIS_URL": redis_server.url}
    with served("django_chat.py", **redis) as one, served("django_chat.py", **redis) as two:
        page = await get(one, "/chat/lobby/")
        assert '<script id="room-name" type="application/json">"lobby"</script>' in page
        async with (
            await client(one, "/ws/chat/lobby/") as a,
            await client(two, "/ws/chat/lobby/") as b,
            await client(two, "/ws/chat/other/") as elsewhere,
        ):
            await asyncio.sleep(0.3)
            await a.send(json.dumps({"message": "hello from process one"}))
            for ws in (a, b):
                assert await next_json(ws) == {"message": "hello from process one"}
            with pytest.raises(TimeoutError):  # another room hears nothing
                await next_json(elsewhere, timeout=0.5)


async def test_django_chat_in_one_process_needs_nothing_but_itself():
    with served("django_chat.py") as port:
        assert "What chat room" in await get(port, "/")
        async with await client(port, "/ws/chat/lobby/") as a:
            await a.send(json.dumps({"message": "echo"}))
            assert await next_json(a) == {"message": "echo"}


def test_worker_runs_the_jobs_the_script_queues_then_stops_on_sigterm(redis_server):
    url = f"{redis_server.url}?prefix=exwork{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", "worker", *WORKER_ARGS],
        cwd=EXAMPLES,
        env=env(TIDINGS_URL=url, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        queued = subprocess.run(
            [sys.executable, str(EXAMPLES / "worker.py"), "3"],
            env=env(TIDINGS_URL=url),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert queued.returncode == 0 and "queued" in queued.stdout, queued.stderr
        deadline = time.monotonic() + 20
        lines: list[str] = []
        assert worker.stdout is not None
        while (
            time.monotonic() < deadline and sum("128px" in x or "mail to" in x for x in lines) < 4
        ):
            line = worker.stdout.readline()
            if not line:
                break
            lines.append(line)
        done = "".join(lines)
        for n in range(3):
            assert f"thumbnail of /img/{n}.jpg at 128px" in done, done
        assert "mail to alice@example.com" in done, done
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        if worker.poll() is None:
            stop_process(worker)
