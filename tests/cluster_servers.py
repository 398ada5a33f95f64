"""Real Redis Cluster and Sentinel deployments on loopback, for tests and benchmarks.

``start_cluster(masters=3, replicas=0)`` starts ``masters * (1 + replicas)`` redis-servers
with ``--cluster-enabled yes`` on free ports (bus ports chosen free too, ``--cluster-port``),
joins them with ``redis-cli --cluster create ... --cluster-yes`` and waits until every node
says ``cluster_state:ok``. ``start_sentinel()`` starts a master, a replica and one sentinel
(quorum 1) watching them as ``mymaster``. Both stop every process they started by pid.
Debian's redis-server 7.0 (or valkey-server) is enough.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tidings.testing import RedisServer, ServerError, free_port, stop_process

# a replica's first sync starts at once (Redis 7 waits 5 s by default for more replicas)
FAST_SYNC = ("--repl-diskless-sync-delay", "0")
NODE_TIMEOUT_MS = 1000  # how long a silent master lasts before its replica takes over


def redis_cli(*args: str, timeout: float = 30) -> str:
    """Run redis-cli; its output, or ``ServerError`` with it if it fails."""
    binary = shutil.which("redis-cli") or shutil.which("valkey-cli")
    if binary is None:
        raise ServerError("redis-cli is not installed: apt-get install redis-tools.")
    done = subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise ServerError(f"redis-cli {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def _ask(port: int, *command: str) -> str:
    """One command through redis-cli (not the client library the tests exercise)."""
    return redis_cli("-p", str(port), *command, timeout=5)


def _wait(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ServerError):
            pass
        time.sleep(0.05)
    raise ServerError(f"{what} did not happen in {seconds}s")


@dataclass
class Cluster:
    """A running Redis Cluster: ``nodes[:masters]`` started as masters, the rest replicas."""

    nodes: list[RedisServer]
    masters: int
    started_in: float = 0.0  # seconds from nothing to cluster_state:ok everywhere

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """A seed URL for clients (any node will do; they discover the rest)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def state_ok(self, port: int) -> bool:
        return "cluster_state:ok" in _ask(port, "CLUSTER", "INFO")

    def master_ports(self) -> list[int]:
        """The ports of the nodes that are masters now (after any failover)."""
        found = []
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            if "role:master" in _ask(node.port, "INFO", "replication"):
                found.append(node.port)
        return found

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(masters: int = 3, replicas: int = 0, timeout: float = 30) -> Cluster:
    """Start and join a cluster; ``ServerError`` if redis-server or redis-cli is missing."""
    started = time.monotonic()
    nodes: list[RedisServer] = []
    try:
        for _ in range(masters * (1 + replicas)):
            bus = free_port()
            node = RedisServer(
                free_port(),
                [
                    "--cluster-enabled", "yes",
                    "--cluster-port", str(bus),
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    # a failover test kills a master: the others must keep serving its peers
                    "--cluster-require-full-coverage", "no",
                    *FAST_SYNC,
                ],
            )  # fmt: skip
            nodes.append(node.start())
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        redis_cli(
            "--cluster", "create", *addresses,
            "--cluster-replicas", str(replicas), "--cluster-yes",
        )  # fmt: skip
        cluster = Cluster(nodes, masters)
        for port in cluster.ports:
            _wait(f"cluster_state:ok on {port}", partial(cluster.state_ok, port), timeout)
        if replicas:
            _wait("replicas in sync", lambda: _replicas_synced(nodes[masters:]), timeout)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    cluster.started_in = time.monotonic() - started
    return cluster


def _replicas_synced(replicas: list[RedisServer]) -> bool:
    return all("master_link_status:up" in _ask(r.port, "INFO", "replication") for r in replicas)


@dataclass
class SentinelSet:
    """A master, its replica and one sentinel watching them as ``master_name``."""

    master: RedisServer
    replica: RedisServer
    sentinel_port: int
    master_name: str = "mymaster"
    process: subprocess.Popen[bytes] | None = None
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="tidings-sentinel-"))
    started_in: float = 0.0

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """channels_redis's ``"sentinels"`` form."""
        return [("127.0.0.1", self.sentinel_port)]

    def current_master_port(self) -> int:
        """The master's port as the sentinel reports it now."""
        reply = _ask(self.sentinel_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
        return int(reply.split()[-1])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 5)
        self.replica.stop()
        self.master.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_sentinel(master_name: str = "mymaster", timeout: float = 30) -> SentinelSet:
    """Start master, replica and sentinel (quorum 1, down after 5 s)."""
    started = time.monotonic()
    master = RedisServer(free_port(), list(FAST_SYNC)).start()
    replica = RedisServer(free_port(), ["--replicaof", "127.0.0.1", str(master.port)])
    group = SentinelSet(master, replica, free_port(), master_name)
    try:
        replica.start()
        config = Path(group.workdir) / "sentinel.conf"
        config.write_text(
            f"port {group.sentinel_port}\n"
            "bind 127.0.0.1\n"
            f"dir {group.workdir}\n"
            f"sentinel monitor {master_name} 127.0.0.1 {master.port} 1\n"
            # long enough that a loaded machine does not look like a dead master (a
            # SENTINEL FAILOVER does not wait for it)
            f"sentinel down-after-milliseconds {master_name} 5000\n"
            f"sentinel failover-timeout {master_name} 5000\n"
            f"sentinel parallel-syncs {master_name} 1\n"
            # told, not discovered (discovery takes up to 10 s of INFO polling)
            f"sentinel known-replica {master_name} 127.0.0.1 {replica.port}\n"
        )
        binary = shutil.which("redis-server") or shutil.which("valkey-server")
        if binary is None:
            raise ServerError("redis-server is not installed: apt-get install redis-server.")
        group.process = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait("replica in sync", lambda: _replicas_synced([replica]), timeout)
        # the sentinel must know the replica (from the master's INFO) before it can fail over
        port = str(replica.port)
        ask = group.sentinel_port
        _wait(
            "sentinel sees the replica",
            lambda: port in _ask(ask, "SENTINEL", "REPLICAS", master_name),
            timeout,
        )
    except BaseException:
        group.stop()
        raise
    group.started_in = time.monotonic() - started
    return group


__all__ = [
    "Cluster",
    "NODE_TIMEOUT_MS",
    "SentinelSet",
    "ServerError",
    "free_port",
    "redis_cli",
    "start_cluster",
    "start_sentinel",
]
