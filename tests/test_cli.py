"""The command line answers bad input and a dead Redis with one clear line, no traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidings.testing import free_port

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def tidings(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidings.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def dead_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0?timeout=0.5"


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["send", "bad name", '{"type": "t"}'], ["Channel name", "invalid"]),
        (["send", "c", "{nope"], ["not JSON"]),
        (["send", "c", '{"text": "no type"}'], ["'type'"]),
        (["send", "c", '{"type": "t", "n": 75557863725914323419136}'], ["64-bit"]),
        (["group-send", "bad!group", '{"type": "t"}'], ["Group name", "invalid"]),
        (["group-send", "g", '{"type": ""}'], ["empty"]),
        (["listen", "bad group"], ["Group name"]),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(args, words, dead_url):
    one_clear_line(tidings(*args, "--url", dead_url), *words)


@pytest.mark.parametrize(
    "args",
    [
        ["send", "c", '{"type": "t"}'],
        ["group-send", "g", '{"type": "t"}'],
        ["inspect"],
        ["listen", "g", "--seconds", "1"],
    ],
)
def test_a_dead_redis_is_one_line_and_a_non_zero_exit(args, dead_url):
    line = one_clear_line(tidings(*args, "--url", dead_url), "Redis")
    assert "127.0.0.1" in line


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("kafka://x", ["--url", "kafka"]),
        ("redis://127.0.0.1:6379/0?capcity=3", ["--url", "capcity", "capacity"]),
        ("redis://127.0.0.1:99999/0", ["--url", "port"]),
    ],
)
def test_url_errors_name_the_url_flag(url, words):
    one_clear_line(tidings("send", "c", '{"type": "t"}', "--url", url), *words)


def test_tidings_url_errors_name_tidings_url():
    result = tidings("inspect", env={"TIDINGS_URL": "redis://127.0.0.1:1/0?bogus=1"})
    one_clear_line(result, "TIDINGS_URL", "bogus")


@pytest.mark.redis
async def test_inspect_marks_processes_that_missed_heartbeats_as_stale(redis_server):
    from tidings.config import layer_from_url
    from tidings.layers.redis.introspection import snapshot

    url = f"{redis_server.url}?prefix=stale1&heartbeat_interval=0.2"
    gone, live, looker = (layer_from_url(url) for _ in range(3))
    try:
        for layer in (gone, live):
            await layer.group_add("room", await layer.new_channel())
        await gone.close()  # stops beating without leaving, like a killed process
        import asyncio

        await asyncio.sleep(1.0)
        report = await snapshot(looker)
        state = {p["instance"]: p["stale"] for p in report["processes"]}
        assert state == {gone.instance: True, live.instance: False}
        result = await asyncio.to_thread(tidings, "inspect", "--url", url)
        assert result.returncode == 0, result.stderr
        assert "STALE" in result.stdout
    finally:
        await live.flush()
        for layer in (live, looker):
            await layer.close()


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    import tidings as package

    result = tidings("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tidings {package.__version__}"
    assert package.__version__ == version("tidings")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    from tidings.cli import build_parser

    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_has_help_and_states_its_defaults():
    commands = subcommands()
    assert set(commands) == {
        "demo", "bench", "inspect", "listen", "send", "group-send", "worker"
    }  # fmt: skip
    for name, parser in commands.items():
        assert parser.description, f"tidings {name} --help has no description"
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"tidings {name}: {action.dest} has no help text"
            if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
                assert f"(default: {action.default})" in " ".join(text.split()), (name, action)


def test_help_never_shows_the_url_from_the_environment():
    secret = "redis://:hunter2@127.0.0.1:6379/0"
    for command in ("worker", "inspect", "listen", "send", "group-send"):
        result = tidings(command, "--help", env={"TIDINGS_URL": secret})
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout
        assert "$TIDINGS_URL" in result.stdout
