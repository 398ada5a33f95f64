"""The demo in a real browser: Debian's Chromium driven by Playwright, servers on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..servers import free_port, stop_process, wait_http

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Demo:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tidings.cli", "demo", "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        wait_http(self.url + "/", self.process)

    def post(self, body: bytes | None) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + "/ingest", data=body or b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: ./scripts/test installs it (apt-get install chromium).")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_pages(browser, url: str, count: int) -> list:
    pages = []
    for _ in range(count):
        page = browser.new_page(viewport={"width": 900, "height": 600})
        page.goto(url)
        page.wait_for_function("document.getElementById('state').textContent === 'connected'")
        page.wait_for_function("window.socketPid !== undefined")  # the server said hello
        pages.append(page)
    return pages


def wait_for_chart(page, values: list) -> None:
    page.wait_for_function(
        "(want) => JSON.stringify(window.chartData) === JSON.stringify(want)",
        arg=values,
        timeout=10_000,
    )


def test_ingest_redraws_every_open_page(browser):
    demo = Demo()
    try:
        pages = open_pages(browser, demo.url + "/", 2)
        status, report = demo.post(json.dumps({"data": [3, 1, 4, 1, 5, 9, 2]}).encode())
        assert status == 200
        assert (report["members"], report["delivered"], report["dropped"]) == (2, 2, 0)
        for n, page in enumerate(pages):
            wait_for_chart(page, [3, 1, 4, 1, 5, 9, 2])
            page.screenshot(path=str(ARTIFACTS / f"dashboard-page{n + 1}.png"))
        status, random_report = demo.post(None)
        assert status == 200 and len(random_report["data"]) == 7
        for page in pages:
            wait_for_chart(page, random_report["data"])
    finally:
        demo.stop()


def test_bad_ingest_gets_400_with_what_is_expected(browser):
    demo = Demo()
    try:
        for body, words in [
            (b"not json", "not JSON"),
            (b'{"data": [1, 2]}', "7 numbers"),
            (b'{"data": [1, 2, 3, "x", 5, 6, 7]}', "Thursday"),
            (b'{"values": []}', "no 'data' key"),
        ]:
            status, content = demo.post(body)
            assert status == 400 and words in content["error"], content
    finally:
        demo.stop()


def test_page_reconnects_by_itself_when_the_socket_drops(browser):
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        page.evaluate("window.currentSocket.close()")
        page.wait_for_function("document.getElementById('state').textContent === 'disconnected'")
        page.wait_for_function(
            "document.getElementById('state').textContent === 'connected'", timeout=10_000
        )
        status, report = demo.post(json.dumps({"data": [7, 6, 5, 4, 3, 2, 1]}).encode())
        assert status == 200 and report["delivered"] == 1
        wait_for_chart(page, [7, 6, 5, 4, 3, 2, 1])
        page.screenshot(path=str(ARTIFACTS / "dashboard-reconnected.png"))
    finally:
        demo.stop()


def test_chat_message_typed_in_one_page_appears_in_the_other(browser):
    demo = Demo()
    try:
        pages = []
        for _ in range(2):
            page = browser.new_page()
            page.goto(demo.url + "/chat/lobby/")
            page.wait_for_function("document.getElementById('state').textContent === 'connected'")
            pages.append(page)
        pages[0].fill("#message", "hello from page one")
        pages[0].press("#message", "Enter")
        for page in pages:
            page.wait_for_function(
                "document.getElementById('log').textContent.includes('hello from page one')"
            )
        pages[1].screenshot(path=str(ARTIFACTS / "chat-page2.png"))
    finally:
        demo.stop()


def test_pages_on_two_redis_backed_servers_share_broadcasts(browser, redis_server):
    # Two server processes on one Redis. (Which uvicorn worker accepts a connection is the
    # kernel's choice and often the same one, so processes are told apart by port here.)
    one, two = Demo("--redis", redis_server.url), Demo("--redis", redis_server.url)
    try:
        (a,) = open_pages(browser, one.url + "/", 1)
        (b,) = open_pages(browser, two.url + "/", 1)
        assert a.evaluate("window.socketPid") != b.evaluate("window.socketPid")
        values = [10, 20, 30, 40, 50, 60, 70]
        status, report = one.post(json.dumps({"data": values}).encode())
        assert status == 200 and report["members"] == 2, report
        for page in (a, b):
            wait_for_chart(page, values)
        b.screenshot(path=str(ARTIFACTS / "dashboard-redis-other-process.png"))
    finally:
        one.stop()
        two.stop()


def worker_processes(parent: int) -> list[int]:
    """PIDs of uvicorn worker processes under ``parent`` (multiprocessing spawn)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"multiprocessing" in cmdline and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_workers_flag_runs_that_many_uvicorn_workers_on_redis(browser, redis_server):
    demo = Demo("--redis", redis_server.url, "--workers", "2")
    try:
        deadline = time.monotonic() + 20
        while len(worker_processes(demo.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = worker_processes(demo.process.pid)
        assert len(workers) == 2, workers
        pages = open_pages(browser, demo.url + "/", 2)
        assert {p.evaluate("window.socketPid") for p in pages} <= set(workers)
        values = [7, 7, 7, 7, 7, 7, 7]
        status, report = demo.post(json.dumps({"data": values}).encode())
        assert status == 200 and report["members"] == 2, report
        for page in pages:
            wait_for_chart(page, values)
    finally:
        demo.stop()


def test_a_page_that_reconnects_shows_every_ingest_it_missed(browser):
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        demo.post(json.dumps({"data": [1, 1, 1, 1, 1, 1, 1]}).encode())
        wait_for_chart(page, [1, 1, 1, 1, 1, 1, 1])
        page.evaluate("window.holdReconnect = true; window.currentSocket.close()")
        page.wait_for_function("document.getElementById('state').textContent === 'disconnected'")
        for values in ([2, 2, 2, 2, 2, 2, 2], [3, 1, 4, 1, 5, 9, 2]):  # missed while away
            status, report = demo.post(json.dumps({"data": values}).encode())
            assert status == 200 and report["members"] == 0
        updates_before = page.evaluate("window.updates")
        page.evaluate("window.holdReconnect = false")
        wait_for_chart(page, [3, 1, 4, 1, 5, 9, 2])
        page.wait_for_function(
            "document.getElementById('recovery').textContent.includes('recovered 2')"
        )
        assert page.evaluate("window.updates") == updates_before + 2
        page.screenshot(path=str(ARTIFACTS / "dashboard-recovered.png"))
    finally:
        demo.stop()


def test_a_page_that_cannot_recover_says_so(browser):
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        # A position from a history this server never had (as after a restart).
        page.evaluate("window.lastPosition = 'feedfacefeedface:7'; window.currentSocket.close()")
        page.wait_for_function(
            "document.getElementById('recovery').textContent.includes('could not recover')",
            timeout=10_000,
        )
    finally:
        demo.stop()
