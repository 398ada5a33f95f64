"""``tidings demo --redis URL --job-workers 1``: POST /ingest is a job a worker process runs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request

import pytest
from websockets.asyncio.client import connect

from ..servers import free_port, stop_process, wait_http
from .conftest import ROOT

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(90)]


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def demo(redis_server, tmp_path):
    """The demo with one job worker; yields its URL and its log (stdout and stderr)."""
    port = free_port()
    log = tmp_path / "demo.log"
    url = f"{redis_server.url}?prefix=demojobs{os.getpid()}"
    command = [sys.executable, "-m", "tidings.cli", "demo", "--port", str(port)]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*command, "--redis", url, "--job-workers", "1"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", process)
        yield base, process, log
    finally:
        stop_process(process)


async def test_ingest_is_queued_and_a_worker_process_broadcasts_it(demo):
    base, process, log_path = demo
    port = base.rsplit(":", 1)[1]
    async with connect(f"ws://127.0.0.1:{port}/ws/index/", origin=base) as page:
        hello = json.loads(await page.recv())
        week = [3, 1, 4, 1, 5, 9, 2]
        status, reply = await asyncio.to_thread(
            post, base + "/ingest", json.dumps({"data": week}).encode()
        )
        assert (status, reply) == (202, {"queued": "demo-ingest", "data": week})
        event = json.loads(await asyncio.wait_for(page.recv(), 15))
        assert event["type"] == "websocket.ingest" and event["text"] == week

        status, reply = await asyncio.to_thread(post, base + "/ingest", b"")
        assert (status, reply["data"]) == (202, None)  # the worker makes random_data()
        event = json.loads(await asyncio.wait_for(page.recv(), 15))
        assert len(event["text"]) == 7 and all(1 <= v <= 10 for v in event["text"])

        status, reply = await asyncio.to_thread(post, base + "/ingest", b'{"data": [1]}')
        assert status == 400 and "7 numbers" in reply["error"]
    await asyncio.to_thread(stop_process, process)
    for _ in range(100):  # the worker stops when the demo process is gone
        if "Stopped:" in log_path.read_text():
            break
        await asyncio.sleep(0.1)
    log = log_path.read_text()
    ingested = [json.loads(line) for line in log.splitlines() if line.startswith('{"ingested"')]
    assert len(ingested) == 2
    assert hello["pid"] not in {entry["pid"] for entry in ingested}  # not the web process
    assert "Stopped: 2 job(s) done, 0 failed." in log


def test_job_workers_need_redis():
    result = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "demo", "--job-workers", "1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "--job-workers needs --redis" in result.stderr
