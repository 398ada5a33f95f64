"""Real Redis Cluster and Sentinel deployments on loopback, for tests and benchmarks.

``start_cluster(masters=3, replicas=0)`` starts ``masters * (1 + replicas)`` redis-servers
with ``--cluster-enabled yes`` on free ports (bus ports chosen free too, ``--cluster-port``),
joins them with ``redis-cli --cluster create ... --cluster-yes`` and waits until every node
says ``cluster_state:ok``. ``start_sentinel()`` starts a master, a replica and one sentinel
(quorum 1) watching them as ``mymaster``. Both stop every process they started by pid::

    from tidings.testing import start_cluster

    cluster = start_cluster(masters=3)
    try:
        layer = RedisChannelLayer(hosts=[cluster.cluster_url])
        ...
    finally:
        cluster.stop()

Faults a test can make on a cluster it started: ``Cluster.kill(port)`` (SIGKILL a node: its
replica takes over after the node timeout, 1 s here), ``Cluster.restart(port)`` (the same
node, port and ``nodes.conf`` again) and ``Cluster.move_slot(slot, to_port)`` (a resharding
of one slot, step by step as ``redis-cli --cluster reshard`` does it). Debian's
redis-server 7.0 (or valkey-server) is enough; ``move_slot`` needs redis-py.
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
from typing import Any

from .server import RedisServer, ServerError, free_port, stop_process

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


@dataclass(frozen=True)
class NodeInfo:
    """One line of ``CLUSTER NODES``: who a node is and which slots it serves."""

    node_id: str
    port: int
    master: bool
    failed: bool
    slots: tuple[tuple[int, int], ...]  # inclusive ranges

    def owns(self, slot: int) -> bool:
        return any(start <= slot <= end for start, end in self.slots)


def _parse_nodes(text: str) -> list[NodeInfo]:
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        flags = fields[2].split(",")
        ranges = []
        for item in fields[8:]:
            if item.startswith("["):  # "[slot->-id]" / "[slot-<-id]": a migration in progress
                continue
            start, _, end = item.partition("-")
            ranges.append((int(start), int(end or start)))
        nodes.append(
            NodeInfo(
                fields[0],
                int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                "master" in flags,
                "fail" in flags or "fail?" in flags,
                tuple(ranges),
            )
        )
    return nodes


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
        """A seed URL for redis-py's ``RedisCluster`` (any node will do)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    @property
    def cluster_url(self) -> str:
        """The ``redis+cluster://`` URL for tidings' ``hosts``, naming every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def node(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def alive(self, port: int) -> bool:
        process = self.node(port).process
        return process is not None and process.poll() is None

    def state_ok(self, port: int) -> bool:
        return "cluster_state:ok" in _ask(port, "CLUSTER", "INFO")

    def master_ports(self) -> list[int]:
        """The ports of the nodes that are masters now (after any failover)."""
        return [
            node.port
            for node in self.nodes
            if self.alive(node.port) and "role:master" in _ask(node.port, "INFO", "replication")
        ]

    def topology(self, port: int | None = None) -> list[NodeInfo]:
        """``CLUSTER NODES`` as one live node (``port``, or the first live one) sees it."""
        asked = port if port is not None else next(p for p in self.ports if self.alive(p))
        return _parse_nodes(_ask(asked, "CLUSTER", "NODES"))

    def key_slot(self, key: str) -> int:
        live = next(p for p in self.ports if self.alive(p))
        return int(_ask(live, "CLUSTER", "KEYSLOT", key))

    def owner(self, slot: int) -> int:
        """The port of the live master that serves ``slot`` now."""
        for info in self.topology():
            if info.master and not info.failed and info.owns(slot) and self.alive(info.port):
                return info.port
        raise ServerError(f"no live master serves slot {slot}")

    def node_id(self, port: int) -> str:
        return _ask(port, "CLUSTER", "MYID").strip()

    def kill(self, port: int) -> None:
        """SIGKILL one node (a crash): it keeps its ``nodes.conf`` for ``restart``."""
        self.node(port).kill()

    def restart(self, port: int, timeout: float = 30) -> None:
        """Start a killed (or stopped-by-kill) node again on its port with its old
        ``nodes.conf``: it rejoins, as a replica if its replica took over meanwhile."""
        node = self.node(port)
        node.kill()
        node.start()
        _wait(f"cluster_state:ok on restarted {port}", partial(self.state_ok, port), timeout)

    def wait_for_owner(self, slot: int, not_port: int, timeout: float = 30) -> int:
        """Wait until a live master other than ``not_port`` serves ``slot`` (a failover)."""
        found: list[int] = []

        def check() -> bool:
            port = self.owner(slot)
            found[:] = [port]
            return port != not_port and all(self.state_ok(p) for p in self.ports if self.alive(p))

        _wait(f"a new master for slot {slot}", check, timeout)
        return found[0]

    def move_slot(
        self,
        slot: int,
        to_port: int,
        batch: int = 10,
        pause: float = 0.0,
        between: Callable[[str], None] | None = None,
    ) -> int:
        """Reshard one slot to the master at ``to_port`` mid-traffic, exactly the steps of
        ``redis-cli --cluster reshard``: SETSLOT IMPORTING on the target, MIGRATING on the
        source, ``GETKEYSINSLOT``/``MIGRATE … KEYS`` in batches of ``batch`` keys (no
        REPLACE: a key that exists on both sides stops the move with BUSYKEY, as it stops
        redis-cli), then SETSLOT NODE everywhere. ``pause`` seconds between batches widen the
        window in which the slot is half moved; ``between(step)`` runs after each step
        (``"importing"``, ``"migrating"``, ``"batch"``, ``"node"``). Returns the number of
        keys moved; ``ServerError`` if Redis refuses a step."""
        import redis

        source_port = self.owner(slot)
        if source_port == to_port:
            raise ServerError(f"slot {slot} is already served by {to_port}")
        # Any: redis-py's sync execute_command is untyped
        clients: dict[int, Any] = {
            port: redis.Redis(port=port, socket_timeout=10, decode_responses=False)
            for port in self.ports
            if self.alive(port)
        }
        source, target = clients[source_port], clients[to_port]
        step = between or (lambda _: None)
        moved = 0
        try:
            source_id, target_id = self.node_id(source_port), self.node_id(to_port)
            target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            step("importing")
            source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            step("migrating")
            while True:
                keys = source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
                if not keys:
                    break
                source.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
                moved += len(keys)
                step("batch")
                if pause:
                    time.sleep(pause)
            # the target first, then the source, then the other masters: redis-cli's order
            masters = {i.port for i in self.topology(to_port) if i.master and not i.failed}
            others = [p for p in clients if p in masters and p not in (to_port, source_port)]
            for port in (to_port, source_port, *others):
                clients[port].execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
            step("node")
        except redis.RedisError as exc:
            raise ServerError(f"moving slot {slot} {source_port} -> {to_port}: {exc}") from exc
        finally:
            for client in clients.values():
                client.close()
        return moved

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
    "NodeInfo",
    "SentinelSet",
    "redis_cli",
    "start_cluster",
    "start_sentinel",
]
