"""Sending jobs from synchronous code, a full queue, and the worker command's errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tidings.exceptions import ChannelFull
from tidings.layers.redis import RedisChannelLayer

from .conftest import ROOT

pytestmark = pytest.mark.timeout(60)


@pytest.mark.redis
def test_sync_send_is_one_line_and_a_full_queue_names_its_capacity(redis_server):
    layer = RedisChannelLayer(
        hosts=[redis_server.url], prefix="jq", channel_capacity={"thumbnails": 3}
    )
    try:
        for n in range(3):
            layer.sync.send("thumbnails", {"type": "thumbnail.make", "id": n})
        with pytest.raises(ChannelFull, match=r"'thumbnails' holds its capacity of 3 unread"):
            layer.sync.send("thumbnails", {"type": "thumbnail.make", "id": 3})
        assert layer.sync.receive("thumbnails", timeout=5)["id"] == 0
        layer.sync.send("thumbnails", {"type": "thumbnail.make", "id": 3})  # room again
    finally:
        layer.sync.flush()
        layer.sync.stop()


def run_worker(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from tidings.cli import main; raise SystemExit(main())"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    if url is not None:
        env["TIDINGS_URL"] = url
    return subprocess.run(
        [*command, "worker", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "url", "message"),
    [
        (["tests.workers.jobs_app:application", "jobs"], None, "needs a shared layer"),
        (["tests.workers.jobs_app:application", "jobs"], "memory://", "lives in one process"),
        (["tests.workers.jobs_app:application", "videos"], "redis://127.0.0.1:1/0", "'videos'"),
        (["tests.workers.nowhere:application", "jobs"], "redis://127.0.0.1:1/0", "Cannot import"),
        (["tests.workers.jobs_app:nothing", "jobs"], "redis://127.0.0.1:1/0", "no attribute"),
        (["tests.workers.jobs_app", "jobs"], "redis://127.0.0.1:1/0", "MODULE:APP"),
        (["tests.workers.jobs_app:application", "a!b"], "redis://127.0.0.1:1/0", "process-spec"),
        (
            ["tests.workers.jobs_app:application", "jobs", "--concurrency", "0"],
            "redis://127.0.0.1:1/0",
            "concurrency must be",
        ),
    ],
)
def test_worker_command_refuses_bad_setups_with_a_clear_message(args, url, message):
    result = run_worker(*args, url=url)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
