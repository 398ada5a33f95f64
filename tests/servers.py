"""Real servers for tests, and waiting for processes the tests start."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from tidings.testing import RedisServer, ServerError, free_port, stop_process


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


class SilentProxy:
    """A loopback TCP proxy the test controls, in front of one server.

    ``silence()`` makes every connection open right now go silent: bytes are no longer
    forwarded either way, yet nothing is closed: what a partition, or a failover that
    moved the address, looks like to a client. Connections made afterwards are
    forwarded normally (the network healed, or the name points at the new server).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="silent-proxy").start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 5)
            except OSError:
                client.close()
                continue
            silent = threading.Event()
            with self._lock:
                self._pairs.append((client, upstream, silent))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b, silent), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, silent: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if silent.is_set():
                    continue  # swallowed: the far side never hears of it
                sink.sendall(data)
        if not silent.is_set():
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def silence(self) -> int:
        """Make every open connection silent; returns how many there were."""
        with self._lock:
            for _, _, silent in self._pairs:
                silent.set()
            return len(self._pairs)

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        with self._lock:
            for client, upstream, _ in self._pairs:
                client.close()
                upstream.close()
            self._pairs.clear()


__all__ = [
    "RedisServer",
    "SilentProxy",
    "free_port",
    "start_redis",
    "stop_process",
    "wait_http",
]
