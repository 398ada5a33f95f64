"""A throwaway ``redis-server`` on a free loopback port (see ``tidings.testing``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any


class ServerError(RuntimeError):
    """Raised when redis-server is missing or does not start."""


def stop_process(process: subprocess.Popen[Any], seconds: float = 10.0) -> None:
    """End a process you started: SIGTERM, then SIGKILL if it has not exited in ``seconds``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """``redis-server`` without persistence, bound to 127.0.0.1 only."""

    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    workdir: str = ""
    scheme: str = "redis"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or shutil.which("valkey-server")
        if binary is None:
            raise ServerError(
                "redis-server is not installed: apt-get install redis-server "
                "(./scripts/test does it for you)."
            )
        if not self.workdir:
            self.workdir = tempfile.mkdtemp(prefix="tidings-redis-")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
                "--protected-mode",
                "yes",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(f"redis-server exited with {self.process.returncode} on start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise ServerError(f"redis-server did not listen on 127.0.0.1:{self.port} in {timeout}s")

    def __enter__(self) -> RedisServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 5 s), then remove its working directory."""
        if self.process is not None:
            stop_process(self.process, 5)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
