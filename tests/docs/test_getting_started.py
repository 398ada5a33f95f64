"""The getting-started path, done as a reader would: save step 3's app.py as printed, serve
it with uvicorn and daphne (the servers the docs name) as separate processes on one Redis,
and talk through it with WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from ..servers import free_port, stop_process
from .test_docs import ROOT, blocks

pytestmark = pytest.mark.timeout(90)


def app_block() -> str:
    (block,) = [
        b
        for b in blocks(ROOT / "docs" / "getting-started.md")
        if b.code.startswith("# app.py - run with: uvicorn app:application")
    ]
    return block.code


@contextmanager
def serve(command: list[str], cwd: Path, url: str) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "TIDINGS_URL": url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*command, str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield port
    finally:
        stop_process(process)


async def socket(port: int):
    # The server may still be starting: retry the handshake for a while.
    for _ in range(100):
        try:
            return await connect(
                f"ws://127.0.0.1:{port}/rooms/lobby/", origin="http://127.0.0.1", open_timeout=5
            )
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


async def test_step_3_app_on_uvicorn_and_daphne_sharing_redis(tmp_path, redis_server):
    (tmp_path / "app.py").write_text(app_block())
    url = f"{redis_server.url}?prefix=gs{os.getpid()}"
    uvicorn = [sys.executable, "-m", "uvicorn", "app:application", "--port"]
    daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "app:application", "-p"]
    with serve(uvicorn, tmp_path, url) as one, serve(daphne, tmp_path, url) as two:
        async with await socket(one) as a, await socket(two) as b:
            await asyncio.sleep(0.3)  # both joined the room
            await a.send(json.dumps({"text": "hi from uvicorn"}))
            for ws in (a, b):
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert reply == {"text": "hi from uvicorn"}
