"""The demo as a product page, in Chromium: what a newcomer sees first.

Screenshots land in artifacts/; with ``TIDINGS_DOCS_SCREENSHOTS=1`` the ones the README
shows are also written to docs/screenshots/ (how they were taken, and how to refresh them).
"""

from __future__ import annotations

import itertools
import json
import math
import os

import pytest

from .test_demo import ARTIFACTS, ROOT, Demo, browser, open_pages, wait_for_chart  # noqa: F401

pytestmark = pytest.mark.timeout(120)
DOCS = ROOT / "docs" / "screenshots"
PHONE = {"width": 375, "height": 740}


def shoot(page, name: str, for_docs: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / name))
    if for_docs and os.environ.get("TIDINGS_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))


def post(demo: Demo, values: list) -> dict:
    status, report = demo.post(json.dumps({"data": values}).encode())
    assert status == 200, report
    return report


def fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_page_opened_after_a_post_draws_the_latest_data(browser):  # noqa: F811
    demo = Demo()
    try:
        assert post(demo, [5, 4, 3, 2, 1, 0, 1])["members"] == 0  # nobody is watching
        post(demo, [2, 7, 1, 8, 2, 8, 1])
        (page,) = open_pages(browser, demo.url + "/", 1)
        wait_for_chart(page, [2, 7, 1, 8, 2, 8, 1])  # the latest, not the sample
        assert "latest update" in page.text_content("#source")
        post(demo, [1, 2, 3, 4, 5, 6, 7])  # and live updates still arrive after it
        wait_for_chart(page, [1, 2, 3, 4, 5, 6, 7])
    finally:
        demo.stop()


def test_a_page_before_any_post_shows_the_sample_and_says_so(browser):  # noqa: F811
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        wait_for_chart(page, [6, 3, 10, 2, 10, 1, 10])
        assert "sample data" in page.text_content("#source")
    finally:
        demo.stop()


@pytest.mark.parametrize(
    "values",
    [
        [1_000_000, 250_000, 999_999, 0, 12, 500_000, 750_000],
        [-5, -3, 4, -12.5, 0, 7, -1],
        [-300, -200, -100, -250, -50, -120, -10],
        [0.1, 0.25, 0.2, 0.05, 0.3, 0.15, 0.12],
        [0, 0, 0, 0, 0, 0, 0],
    ],
)
def test_the_axis_covers_any_values_with_round_ticks(browser, values):  # noqa: F811
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        post(demo, values)
        wait_for_chart(page, values)
        axis = page.evaluate("window.axis")
        ticks = axis["ticks"]
        assert axis["bottom"] <= min(*values, 0) and axis["top"] >= max(*values, 0), axis
        assert 0 in ticks and 3 <= len(ticks) <= 12, ticks
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert len(steps) == 1, ticks  # evenly spaced
        (step,) = steps
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 6) in (1, 2, 5), step  # 1, 2 or 5 times a power of ten
        if values[0] == 1_000_000:
            labels = page.evaluate("window.axis.ticks.map((v) => tickLabel.format(v))")
            assert "1M" in labels, labels
            shoot(page, "dashboard-large-values.png")
        if values[0] == -5:
            shoot(page, "dashboard-negative-values.png")
    finally:
        demo.stop()


def test_favicon_is_served_and_linked(browser):  # noqa: F811
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        href = page.evaluate("document.querySelector('link[rel=icon]').href")
        status = page.evaluate("(url) => fetch(url).then((r) => r.status)", href)
        assert status == 200
        assert page.evaluate("fetch('/favicon.ico').then((r) => r.status)") == 200
        for other in ("/chat/lobby/", "/notifications/"):  # every page of the demo
            page.goto(demo.url + other)
            assert page.evaluate("document.querySelector('link[rel=icon]').href") == href
    finally:
        demo.stop()


def test_a_disconnected_page_says_why(browser):  # noqa: F811
    demo = Demo()
    try:
        (page,) = open_pages(browser, demo.url + "/", 1)
        assert page.text_content("#why") == ""
    finally:
        demo.stop()  # the server goes away under the page
    page.wait_for_function("document.getElementById('state').textContent === 'disconnected'")
    page.wait_for_function("document.getElementById('why').textContent.includes('code')")
    why = page.text_content("#why")
    assert "retrying in" in why and any(
        words in why for words in ("going away", "connection lost", "restarting")
    ), why
    shoot(page, "dashboard-disconnected.png")


def test_dashboard_and_chat_fit_a_phone(browser):  # noqa: F811
    demo = Demo()
    try:
        post(demo, [12, 19, 3, 5, 2, 3, 9])
        page = browser.new_page(viewport=PHONE)
        page.goto(demo.url + "/")
        page.wait_for_function("document.getElementById('state').textContent === 'connected'")
        wait_for_chart(page, [12, 19, 3, 5, 2, 3, 9])
        assert fits_width(page)
        assert (
            page.evaluate("document.getElementById('chart').getBoundingClientRect().right") <= 375
        )
        shoot(page, "dashboard-phone.png", for_docs=True)
        page.goto(demo.url + "/chat/lobby/")
        page.wait_for_function("document.getElementById('state').textContent === 'connected'")
        page.fill("#message", "hello from a phone")
        page.press("#message", "Enter")
        page.wait_for_function("document.getElementById('log').textContent.includes('phone')")
        assert fits_width(page)
        shoot(page, "chat-phone.png")
    finally:
        demo.stop()


def open_chat(browser, url: str, name: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.goto(url)
    page.wait_for_function("document.getElementById('state').textContent === 'connected'")
    page.fill("#you", name)
    return page


def say(page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def test_chat_shows_names_and_times_picks_rooms_and_scrolls(browser):  # noqa: F811
    demo = Demo()
    try:
        ada = open_chat(browser, demo.url + "/chat/lobby/", "ada")
        bob = open_chat(browser, demo.url + "/chat/lobby/", "bob")
        say(ada, "hello bob")
        bob.wait_for_function("document.querySelectorAll('#log .line').length === 1")
        line = bob.locator("#log .line").first
        assert line.locator(".name").text_content() == "ada"
        assert line.locator(".time").text_content().strip() != ""  # the server's time, local
        say(bob, "hi ada")
        ada.wait_for_function("document.querySelectorAll('#log .line').length === 2")
        assert ada.locator("#log .line .name").all_text_contents() == ["ada", "bob"]
        # Scrolling: a long conversation stays in its box, showing the newest line.
        for n in range(40):
            say(ada, f"line {n}")
        bob.wait_for_function("document.querySelectorAll('#log .line').length === 42")
        scroll = bob.evaluate(
            "(() => { const l = document.getElementById('log');"
            " return [l.scrollHeight, l.clientHeight, l.scrollTop]; })()"
        )
        height, visible, top = scroll
        assert height > visible and top + visible >= height - 5, scroll
        shoot(bob, "chat.png", for_docs=True)
        # The room picker: the rooms to start with, and any other by name.
        options = bob.evaluate(
            "[...document.querySelectorAll('#room-list option')].map(o => o.value)"
        )
        assert options[0] == "lobby" and "random" in options, options
        bob.fill("#new-room", "book club")
        bob.click("#rooms button")
        bob.wait_for_url(demo.url + "/chat/book-club/")
        bob.wait_for_function("document.getElementById('state').textContent === 'connected'")
        assert bob.text_content("#room") == "book-club"
        assert "hello bob" not in bob.text_content("#log")  # another room, its own log
        bob.select_option("#room-list", "lobby")
        bob.wait_for_url(demo.url + "/chat/lobby/")
    finally:
        demo.stop()


def test_dashboard_screenshot_for_the_readme(browser):  # noqa: F811
    demo = Demo()
    try:
        pages = open_pages(browser, demo.url + "/", 1)
        post(demo, [3, 1, 4, 1, 5, 9, 2])
        wait_for_chart(pages[0], [3, 1, 4, 1, 5, 9, 2])
        shoot(pages[0], "dashboard.png", for_docs=True)
    finally:
        demo.stop()
