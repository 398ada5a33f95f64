"""Real servers for tests, and waiting for processes the tests start."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest

from tidings.bench.servers import RedisServer, ServerError, free_port


def start_redis(*args: str, port: int | None = None) -> RedisServer:
    """A started redis-server; a missing binary fails the test with the fix."""
    try:
        return RedisServer(port or free_port(), list(args)).start()
    except ServerError as exc:
        pytest.fail(str(exc))


def wait_http(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    """Wait until ``url`` answers; fail with the process's output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"server exited: {output}") from None
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds}s")


def stop_process(process: subprocess.Popen[str]) -> None:
    """Terminate a server the test started; kill it if it does not stop in 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


__all__ = ["RedisServer", "free_port", "start_redis", "stop_process", "wait_http"]
