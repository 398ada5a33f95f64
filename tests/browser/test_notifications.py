"""The demo's per-user notifications page in Chromium: each name sees only its own."""

from __future__ import annotations

import time

import pytest

from .test_demo import ARTIFACTS, Demo, browser  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.timeout(120)


def open_page(browser, url: str):  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport={"width": 800, "height": 600})  # own cookies
    page = context.new_page()
    page.goto(url + "/notifications/")
    return context, page


def wait_state(page, text: str) -> None:
    page.wait_for_function(
        "(want) => document.getElementById('state').textContent === want", arg=text, timeout=10_000
    )


def log_in(page, name: str) -> None:
    page.fill("#name", name)
    page.click("#login button")
    page.wait_for_function(
        "(want) => document.getElementById('who').textContent === want", arg=name, timeout=10_000
    )
    wait_state(page, "connected")


def send(page, to: str, message: str) -> None:
    page.fill("#to", to)
    page.fill("#message", message)
    page.click("#send button")
    page.wait_for_function(
        "document.getElementById('note').textContent.startsWith('sent to')", timeout=10_000
    )


def received(page) -> list:
    return page.evaluate("window.received")


def test_each_name_gets_only_its_own_notifications(browser):  # noqa: F811
    demo = Demo()
    contexts = []
    try:
        (ca, alice), (cb, bob), (cc, carol) = (open_page(browser, demo.url) for _ in range(3))
        contexts += [ca, cb, cc]
        wait_state(alice, "closed 4401")  # anonymous: refused with the documented code
        assert "log in" in alice.text_content("#note")
        for page, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
            log_in(page, name)

        send(alice, "bob", "hi bob")
        bob.wait_for_function("window.received.length === 1", timeout=10_000)
        assert received(bob) == [
            {"type": "send_notification", "message": "hi bob", "from": "alice"}
        ]
        send(bob, "alice", "hi alice")
        alice.wait_for_function("window.received.length === 1", timeout=10_000)
        assert received(alice)[0]["message"] == "hi alice"
        time.sleep(0.5)
        assert len(received(bob)) == 1 and received(carol) == []
        bob.screenshot(path=str(ARTIFACTS / "notifications-bob.png"))

        alice.click("#logout")
        wait_state(alice, "closed 4401")
        send(bob, "alice", "are you there?")
        time.sleep(0.5)
        assert len(received(alice)) == 0  # logged out: the list was cleared, nothing new
    finally:
        for context in contexts:
            context.close()
        demo.stop()
