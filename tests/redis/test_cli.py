"""tidings inspect / listen / send / group-send against a real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from tidings.cli import main
from tidings.layers.redis import RedisChannelLayer

from .procs import ROOT

pytestmark = pytest.mark.timeout(60)


def url_of(server, prefix: str) -> str:
    return f"{server.url}?prefix={prefix}"


async def test_group_send_and_send_from_the_command_line(redis_server, capsys):
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix="cli1")
    channel = await layer.new_channel()
    await layer.group_add("news", channel)
    url = url_of(redis_server, "cli1")
    code = await asyncio.to_thread(
        main, ["group-send", "news", '{"type": "news.flash", "n": 1}', "--url", url]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["members"], report["delivered"]) == (1, 1)
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "news.flash", "n": 1}
    await asyncio.to_thread(main, ["send", "jobs.q", '{"type": "job"}', "--url", url])
    assert (await asyncio.wait_for(layer.receive("jobs.q"), 5))["type"] == "job"
    await layer.flush()
    await layer.close()


def test_bad_message_and_memory_url_are_clear_errors():
    with pytest.raises(SystemExit, match="not JSON"):
        main(["send", "c", "{nope", "--url", "redis://127.0.0.1:1/0"])
    with pytest.raises(SystemExit, match="JSON object"):
        main(["send", "c", "[1]", "--url", "redis://127.0.0.1:1/0"])
    with pytest.raises(SystemExit, match="lives inside one process"):
        main(["inspect", "--url", "memory://"])


async def test_listen_prints_group_messages(redis_server):
    url = url_of(redis_server, "cli2")
    listener = subprocess.Popen(  # noqa: ASYNC220 - started once, before the timing matters
        [
            sys.executable,
            "-m",
            "tidings.cli",
            "listen",
            "alerts",
            "--url",
            url,
            "--count",
            "2",
            "--seconds",
            "20",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sender = RedisChannelLayer(hosts=[redis_server.url], prefix="cli2")
        for _ in range(100):  # until the listener has joined
            if await sender.group_size("alerts") == 1:
                break
            await asyncio.sleep(0.1)
        for n in range(2):
            await sender.group_send("alerts", {"type": "alert", "n": n})
        out, err = await asyncio.to_thread(listener.communicate, timeout=20)
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines == [{"type": "alert", "n": 0}, {"type": "alert", "n": 1}], err
        assert await sender.group_size("alerts") == 0  # it left when done
        await sender.close()
    finally:
        if listener.poll() is None:
            listener.kill()


async def test_inspect_shows_processes_groups_and_depths(redis_server, capsys):
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix="cli3", heartbeat_interval=0.2)
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("board", channel)
    await layer.send("backlog.q", {"type": "t"})
    await layer.send("backlog.q", {"type": "t"})
    await asyncio.sleep(0.5)  # a heartbeat publishes this process's counters
    code = await asyncio.to_thread(
        main, ["inspect", "--url", url_of(redis_server, "cli3"), "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["instance"] for p in report["processes"]] == [layer.instance]
    assert report["processes"][0]["pid"] == os.getpid()
    assert report["groups"] == [{"group": "board", "members": 3, "processes": 1}]
    assert {"key": layer.keys.channel("backlog.q"), "depth": 2} in report["queues"]
    assert {"key": layer.keys.mailbox(0, layer.instance), "depth": 0} in report["queues"]
    await asyncio.to_thread(main, ["inspect", "--url", url_of(redis_server, "cli3")])
    text = capsys.readouterr().out
    assert "processes" in text and "board" in text and "backlog.q" in text
    await layer.flush()
    await layer.close()
