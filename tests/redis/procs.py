"""Starting and reading peer processes (tests/redis/peer.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class Peer:
    def __init__(self, *args: object, options: dict[str, Any] | None = None) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TIDINGS_TEST_OPTS": json.dumps(options or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.redis.peer", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def expect(self, tag: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                err = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"peer ended before {tag}: {err[-6000:]}")
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1 :])
        raise AssertionError(f"peer did not say {tag} in {timeout}s")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)
