"""The numbers behind docs/capacity.md: per-operation costs measured on a real redis-server
(and a real 3-master cluster), then the plan for 100k connections per node and 1M across
nodes calculated from them. Nothing in the plan is typed in: change a cost, the plan moves.

    python -m tidings.bench.capacity            # measure (about a minute), print the plan
    python -m tidings.bench.capacity --quick    # smaller samples

Measured, each on servers this command starts on free loopback ports and stops by pid:

- Redis CPU per ``group_send`` for groups spanning 1, 10 and 80 member processes
  (``INFO commandstats``; the member "processes" are layer instances, each with its own
  mailbox and reader, which is all Redis sees of a process), fitted to a + b x processes;
- Redis CPU per ``group_add`` and per heartbeat, and per mailbox entry drained (BLMPOP);
- Redis memory per one-member group and per ten-member group (``used_memory``), and per
  queued mailbox entry as a list item and as a stream item (the Cluster mailbox);
- client CPU per group_send in the sending process (16 concurrent senders, members in two
  other processes: ``crossproc.concurrent_groups``), for 1 and 10 members;
- connections one process holds on a single Redis;
- on the cluster, redis-py's client CPU per one-key script call through ``RedisCluster``
  against a plain ``Redis``, 16 concurrent callers (the cluster path's extra cost).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..testing import Cluster, RedisServer, start_cluster
from . import crossproc

# The fleet of the plan (docs/capacity.md): a node is one machine with PROCESSES_PER_NODE
# worker processes; 1M connections over NODES nodes.
CONNECTIONS_PER_NODE = 100_000
PROCESSES_PER_NODE = 8
NODES = 10
MASTERS = 3
PARTITIONS = 16  # the design's default on a Cluster (docs/redis-design.md)
# 16 partitions sit 5/5/6 on 3 masters: the busiest master carries 6/16 of a load that is
# spread evenly over partitions (many groups), not a third
BUSIEST_SHARE = -(-PARTITIONS // MASTERS) / PARTITIONS
# what a mailbox reader runs: a stream read and its acknowledgement (a trim), or, with the
# earlier list mailboxes, BLMPOP; whichever the layer uses is what gets measured
DRAIN_COMMANDS = ("xread", "xtrim", "xdel", "blmpop")


@dataclass
class Costs:
    """Per-operation costs; µs are CPU microseconds, bytes are Redis memory."""

    send_server_us: dict[int, float] = field(default_factory=dict)  # by member processes
    add_server_us: float = 0.0
    heartbeat_server_us: float = 0.0
    drain_server_us_per_entry: float = 0.0
    group_bytes: dict[int, float] = field(default_factory=dict)  # by members
    list_entry_bytes: float = 0.0
    stream_entry_bytes: float = 0.0
    send_client_us: dict[int, float] = field(default_factory=dict)  # by members
    connections_per_process: int = 0
    call_client_us: dict[str, float] = field(default_factory=dict)  # "Redis", "RedisCluster"
    cluster_send_server_us: dict[int, float] = field(default_factory=dict)
    cluster_connections: tuple[int, int] = (0, 0)  # (connections, partitions read)
    cluster_note: str = ""

    def send_us(self, processes: float) -> float:
        """Redis µs per group_send to ``processes`` member processes: straight lines between
        the measured points (a fitted line would let the 80-process point decide the
        one-member case, which is the most common)."""
        points = sorted(self.send_server_us.items())
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if processes <= x1 or (x1, y1) == points[-1]:
                return y0 + (y1 - y0) * (processes - x0) / (x1 - x0)
        return points[0][1]


async def _commandstats(client: Any) -> dict[str, tuple[int, float]]:
    """command -> (calls, usec) from INFO commandstats."""
    info = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"]))
        for name, v in info.items()
    }


async def _server_us(client: Any, command: str, work: Callable[[], Awaitable[Any]]) -> float:
    """Redis CPU µs per call of ``command`` while ``work`` runs."""
    await client.config_resetstat()
    await work()
    calls, usec = (await _commandstats(client)).get(command, (0, 0.0))
    if not calls:
        raise RuntimeError(f"no {command} call was seen: nothing measured")
    return usec / calls


async def _send_cost(
    url: str, clients: list[Any], processes: int, sends: int
) -> tuple[float, float]:
    """(Redis µs per group_send, Redis µs per entry drained) for a group of one channel in
    each of ``processes`` layer instances; 16 concurrent senders in one more instance."""
    from ..layers.redis import RedisChannelLayer

    prefix = f"cap{secrets.token_hex(3)}"

    def layer() -> RedisChannelLayer:
        # no heartbeat during the measurement: only group_send.lua runs as EVALSHA
        return RedisChannelLayer(
            hosts=[url], prefix=prefix, heartbeat_interval=60, capacity=100_000
        )

    members = [layer() for _ in range(processes)]
    sender = layer()
    channels = [await m.new_channel() for m in members]
    for m, channel in zip(members, channels, strict=True):
        await m.group_add("g", channel)
    due = (sends + 1) * processes
    got = 0
    done = asyncio.Event()

    async def consume(m: RedisChannelLayer, channel: str) -> None:
        nonlocal got
        while True:
            await m.receive(channel)
            got += 1
            if got == due:
                done.set()

    consumers = [
        asyncio.ensure_future(consume(m, c)) for m, c in zip(members, channels, strict=True)
    ]
    try:
        await sender.group_send("g", {"type": "warm"})  # connect and load the script first

        async def one(k: int) -> None:
            for n in range(k, sends, 16):
                await sender.group_send("g", {"type": "m", "n": n, "pad": "x" * 64})

        for client in clients:  # every master of a cluster: the stats are summed
            await client.config_resetstat()
        await asyncio.gather(*(one(k) for k in range(16)))
        await asyncio.wait_for(done.wait(), 60)
        stats: dict[str, tuple[int, float]] = {}
        for client in clients:
            for name, (calls, usec) in (await _commandstats(client)).items():
                before = stats.get(name, (0, 0.0))
                stats[name] = (before[0] + calls, before[1] + usec)
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        for m in [*members, sender]:
            await m.flush()
            await m.close()
    calls, usec = stats["evalsha"]
    drained = sum(stats.get(command, (0, 0.0))[1] for command in DRAIN_COMMANDS)
    return usec / calls, drained / (sends * processes)


async def measure_groups(url: str, costs: Costs, quick: bool) -> None:
    """group_send / group_add / drain / heartbeat costs and memory per group, in Redis."""
    import redis.asyncio as aioredis

    from ..layers.redis import RedisChannelLayer

    client = aioredis.Redis.from_url(url)
    sends = 300 if quick else 1500
    try:
        for processes in (1, 2, 10, 80):
            server_us, drain_us = await _send_cost(url, [client], processes, sends)
            costs.send_server_us[processes] = server_us
            if processes == 80:  # BLMPOP batches: most entries per call here
                costs.drain_server_us_per_entry = drain_us

        # group_add and memory per group: 1-member groups, then 10-member groups over 10
        # instances (each member a channel of its own instance: the per-user case)
        groups = 2000 if quick else 10_000
        for size in (1, 10):
            prefix = f"cap{secrets.token_hex(3)}"
            owners = [
                RedisChannelLayer(hosts=[url], prefix=prefix, heartbeat_interval=60)
                for _ in range(size)
            ]
            await owners[0].new_channel()  # connect before the baseline
            before = int((await client.info("memory"))["used_memory"])

            async def add_all(owners: list[RedisChannelLayer] = owners) -> None:
                async def adds(k: int) -> None:
                    for g in range(k, groups, 16):
                        for owner in owners:
                            await owner.group_add(f"u{g}", await owner.new_channel())

                await asyncio.gather(*(adds(k) for k in range(16)))

            per_add = await _server_us(client, "evalsha", add_all)
            if size == 1:
                costs.add_server_us = per_add
            after = int((await client.info("memory"))["used_memory"])
            costs.group_bytes[size] = (after - before) / groups
            for owner in owners:
                await owner.flush()
                await owner.close()

        # heartbeats: 20 instances beating every 0.1 s for a second
        prefix = f"cap{secrets.token_hex(3)}"
        beaters = [
            RedisChannelLayer(hosts=[url], prefix=prefix, heartbeat_interval=0.1) for _ in range(20)
        ]
        for b in beaters:
            await b.new_channel()  # starts its reader and heartbeat
        await asyncio.sleep(0.3)
        costs.heartbeat_server_us = await _server_us(client, "evalsha", lambda: asyncio.sleep(1.5))
        for b in beaters:
            await b.flush()
            await b.close()
    finally:
        await client.aclose()


async def measure_connections(url: str, costs: Costs) -> None:
    """Connections one process (one layer) holds once it has sent, received and joined."""
    import redis.asyncio as aioredis

    from ..layers.redis import RedisChannelLayer

    client = aioredis.Redis.from_url(url)
    try:
        before = len(await client.client_list())
        layer = RedisChannelLayer(hosts=[url], prefix=f"cap{secrets.token_hex(3)}")
        channel = await layer.new_channel()
        await layer.group_add("c", channel)
        await asyncio.gather(*(layer.group_send("c", {"type": "x"}) for _ in range(32)))
        for _ in range(32):
            await layer.receive(channel)
        costs.connections_per_process = len(await client.client_list()) - before
        await layer.flush()
        await layer.close()
    finally:
        await client.aclose()


async def measure_entries(url: str, costs: Costs, quick: bool) -> None:
    """Memory per queued mailbox entry (a 100-byte payload), as a list and as a stream."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    count = 5000 if quick else 20_000
    from ..layers.redis import entry

    item = entry.build(int(time.time() * 1000) + 60_000, entry.GROUP, "room-1234", b"x" * 100)
    try:
        for kind in ("list", "stream"):
            key = f"cap{secrets.token_hex(3)}:{kind}"
            before = int((await client.info("memory"))["used_memory"])
            for start in range(0, count, 500):
                pipe = client.pipeline(transaction=False)
                for _ in range(start, min(count, start + 500)):
                    if kind == "list":
                        pipe.rpush(key, item)
                    else:
                        pipe.xadd(key, {"e": item})
                await pipe.execute()
            used = (int((await client.info("memory"))["used_memory"]) - before) / count
            if kind == "list":
                costs.list_entry_bytes = used
            else:
                costs.stream_entry_bytes = used
            await client.delete(key)
    finally:
        await client.aclose()


async def measure_client(url: str, costs: Costs, quick: bool) -> None:
    """The sending process's CPU per group_send, members in two other processes."""
    groups = 400 if quick else 2000
    for size in (1, 10):
        outcome = await crossproc.concurrent_groups(
            "tidings", url, size, groups // size, 2 if size == 10 else 1, senders=16
        )
        if outcome.lost:
            raise RuntimeError(f"client-cost run lost {outcome.lost} deliveries: not measured")
        assert outcome.cpu_per_1000 is not None
        costs.send_client_us[size] = outcome.cpu_per_1000 * 1000


async def measure_cluster_client(single: str, cluster_seed: str, costs: Costs, quick: bool) -> None:
    """Client CPU per one-key EVALSHA through RedisCluster vs Redis, 16 concurrent callers."""
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster

    script = "#!lua\nreturn redis.call('EXISTS', KEYS[1])"
    calls = 3000 if quick else 15_000
    contenders: list[tuple[str, Any]] = [
        ("Redis", aioredis.Redis.from_url(single)),
        ("RedisCluster", RedisCluster.from_url(cluster_seed)),
    ]
    for name, client in contenders:
        try:
            sha = await client.script_load(script)
            await client.evalsha(sha, 1, "{warm}")

            async def caller(k: int, client: Any = client, sha: str = sha) -> None:
                for n in range(k, calls, 16):
                    await client.evalsha(sha, 1, f"{{k{n % 97}}}:x")

            cpu = time.process_time()
            await asyncio.gather(*(caller(k) for k in range(16)))
            costs.call_client_us[name] = (time.process_time() - cpu) / calls * 1e6
        finally:
            await client.aclose()


async def measure_cluster_sends(deployment: Cluster, costs: Costs, quick: bool) -> None:
    """group_send's Redis CPU on the cluster (summed over its masters), if the layer runs
    on a cluster; otherwise the reason is kept for the printout."""
    import redis.asyncio as aioredis

    from ..exceptions import ConfigurationError
    from ..layers.redis import RedisChannelLayer

    try:
        RedisChannelLayer(hosts=[deployment.cluster_url])
    except ConfigurationError as exc:
        costs.cluster_note = f"not measured on the cluster: {exc}"
        return
    clients = [aioredis.Redis(port=port) for port in deployment.master_ports()]
    try:
        costs.cluster_connections = await _cluster_connections(deployment.cluster_url, clients)
        for processes in (1, 10):
            server_us, _ = await _send_cost(
                deployment.cluster_url, clients, processes, 300 if quick else 1500
            )
            costs.cluster_send_server_us[processes] = server_us
    finally:
        for client in clients:
            await client.aclose()


async def _cluster_connections(url: str, clients: list[Any]) -> tuple[int, int]:
    """(connections one process holds over all masters, partitions it reads) once it is in
    64 groups (spread over every partition) and has sent and received."""
    from ..layers.redis import RedisChannelLayer

    async def count() -> int:
        return sum([len(await client.client_list()) for client in clients])

    before = await count()
    layer = RedisChannelLayer(hosts=[url], prefix=f"cap{secrets.token_hex(3)}")
    try:
        channel = await layer.new_channel()
        for g in range(64):
            await layer.group_add(f"c{g}", channel)
        # one send first, as a long-running process has made: 64 concurrent *first* sends
        # each load the script on every master over a new connection the pool then keeps
        # (measured: 209 connections instead of 20), a start-up burst, not the steady state
        await layer.group_send("c0", {"type": "x"})
        await layer.receive(channel)
        await asyncio.gather(*(layer.group_send(f"c{g}", {"type": "x"}) for g in range(64)))
        for _ in range(64):
            await layer.receive(channel)
        held = await count() - before
        partitions = len(layer.readers)
        await layer.flush()
    finally:
        await layer.close()
    return held, partitions


async def measure(quick: bool, cluster: bool) -> Costs:
    costs = Costs()
    server = RedisServer().start()
    try:
        await measure_groups(server.url, costs, quick)
        await measure_connections(server.url, costs)
        await measure_entries(server.url, costs, quick)
        await measure_client(server.url, costs, quick)
        if cluster:
            deployment = start_cluster(MASTERS)
            try:
                await measure_cluster_client(server.url, deployment.url, costs, quick)
                await measure_cluster_sends(deployment, costs, quick)
            finally:
                deployment.stop()
    finally:
        server.stop()
    return costs


def mailbox_capacity() -> int:
    """The layer's default ``mailbox_capacity`` (entries per mailbox), from the option table."""
    from ..rules.options import REDIS

    return int(next(o.default for o in REDIS if o.name == "mailbox_capacity"))


def expected_distinct(members: int, processes: int) -> float:
    """Member processes of a group of ``members`` connections placed at random."""
    return processes * (1 - (1 - 1 / processes) ** members)


def plan(costs: Costs) -> str:
    """The capacity plan's tables, from ``costs``."""
    processes = NODES * PROCESSES_PER_NODE
    connections = CONNECTIONS_PER_NODE * NODES
    cap = mailbox_capacity()
    per_process = connections / processes
    room_processes = expected_distinct(10, processes)
    cluster_extra = costs.call_client_us.get("RedisCluster", 0.0) - costs.call_client_us.get(
        "Redis", 0.0
    )
    loads = [
        # (name, rate over the fleet per s, Redis µs per op, client µs per op, ops per process/s)
        (
            "notifications: 1M one-member groups, 1 msg/user/min",
            connections / 60,
            costs.send_us(1),
            costs.send_client_us[1],
        ),
        (
            f"chat: 100k ten-member rooms ({room_processes:.1f} processes each), 1 msg/10 s",
            100_000 / 10,
            costs.send_us(room_processes),
            costs.send_client_us[10],
        ),
        (
            f"broadcast to everyone: one group on all {processes} processes, 10/s",
            10,
            costs.send_us(processes),
            costs.send_client_us[1],
        ),
        (
            "connect storm: all 1M reconnect in 60 s, 2 group_adds each",
            2 * connections / 60,
            costs.add_server_us,
            costs.send_client_us[1],
        ),
        (
            f"heartbeats: {processes} processes x {PARTITIONS} partitions / 5 s",
            processes * PARTITIONS / 5,
            costs.heartbeat_server_us,
            0.0,
        ),
    ]
    lines = [
        f"Fleet: {connections:,} connections = {NODES} nodes x {CONNECTIONS_PER_NODE:,} = "
        f"{processes} processes x {per_process:,.0f} connections.",
        "",
        "| workload | ops/s over the fleet | Redis µs/op | Redis CPU (cores) | busiest of "
        f"{MASTERS} masters ({BUSIEST_SHARE:.1%}) | sender CPU per process (cores) |",
        "|---|---|---|---|---|---|",
    ]
    total = 0.0
    for name, rate, server_us, client_us in loads:
        cores = rate * server_us / 1e6
        if not name.startswith("connect"):
            total += cores
        client = rate / processes * client_us / 1e6
        lines.append(
            f"| {name} | {rate:,.0f} | {server_us:.1f} | {cores:.3f} | {cores * BUSIEST_SHARE:.3f} "
            f"| {client:.4f} |"
        )
    entries = connections / 60 + 100_000 / 10 * room_processes
    drain = entries * costs.drain_server_us_per_entry
    steady = total + drain / 1e6
    storm = 2 * connections / 60 * costs.add_server_us / 1e6
    lines += [
        f"| drain: every mailbox entry of the above (read + acknowledge, per entry) | "
        f"{entries:,.0f} entries | "
        f"{costs.drain_server_us_per_entry:.2f} | {drain / 1e6:.3f} | "
        f"{drain / 1e6 * BUSIEST_SHARE:.3f} | - |",
        "",
        "group_send inside Redis: between the measured points "
        f"({', '.join(f'{k}: {v:.1f} µs' for k, v in costs.send_server_us.items())} by member "
        f"processes), straight lines.",
        f"Steady load (all but the connect storm) + drain: {steady:.2f} Redis cores; the "
        f"busiest of {MASTERS} masters {steady * BUSIEST_SHARE:.2f}. The connect storm alone: "
        f"{storm:.2f} cores; during a storm {steady + storm:.2f} in all, the busiest master "
        f"{(steady + storm) * BUSIEST_SHARE:.2f}.",
        "",
        "Memory:",
        "",
        f"- 1M one-member groups x {costs.group_bytes[1]:.0f} B = "
        f"{connections * costs.group_bytes[1] / 1e9:.2f} GB",
        f"- 100k ten-member rooms x {costs.group_bytes[10]:.0f} B = "
        f"{100_000 * costs.group_bytes[10] / 1e9:.2f} GB",
        f"- mailbox backlog, worst case (every process stalled, every mailbox full at "
        f"mailbox_capacity = {cap:,} entries, stream mailboxes): one Redis {processes} x "
        f"{cap:,} x {costs.stream_entry_bytes:.0f} B = "
        f"{processes * cap * costs.stream_entry_bytes / 1e9:.2f} GB; a cluster, {PARTITIONS} "
        f"mailboxes per process: {processes} x {PARTITIONS} x {cap:,} x "
        f"{costs.stream_entry_bytes:.0f} B = "
        f"{processes * PARTITIONS * cap * costs.stream_entry_bytes / 1e9:.2f} GB",
        "",
        "Connections:",
        "",
        f"- single Redis: {costs.connections_per_process} per process (measured) x "
        f"{processes} = {costs.connections_per_process * processes:,}",
        *(
            [
                f"- cluster: {costs.cluster_connections[0]} per process (measured, in groups of "
                f"every partition) x {processes} = "
                f"{costs.cluster_connections[0] * processes:,}, i.e. "
                f"{costs.cluster_connections[0] * processes / MASTERS:,.0f} per master "
                "(maxclients 10,000)"
            ]
            if costs.cluster_connections[0]
            else [
                f"- cluster (design: one blocking reader per partition read, at most "
                f"{PARTITIONS}, + one pipelined connection per master): {processes} x "
                f"({PARTITIONS} + {MASTERS}) = {processes * (PARTITIONS + MASTERS):,}"
            ]
        ),
    ]
    if costs.call_client_us.get("RedisCluster"):
        verdict = (
            f"the cluster path adds {cluster_extra:.1f} µs per call in the sending process"
            if cluster_extra > 0
            else "no extra client cost measured for the cluster path"
        )
        lines += [
            "",
            f"Client CPU per one-key script call, 16 concurrent callers: Redis "
            f"{costs.call_client_us['Redis']:.1f} µs, RedisCluster "
            f"{costs.call_client_us['RedisCluster']:.1f} µs ({verdict}).",
        ]
    return "\n".join(lines)


def costs_table(costs: Costs) -> str:
    rows = [
        *(
            f"| group_send, {k} member processes | Redis CPU | {v:.1f} µs |"
            for k, v in costs.send_server_us.items()
        ),
        f"| group_add | Redis CPU | {costs.add_server_us:.1f} µs |",
        f"| heartbeat | Redis CPU | {costs.heartbeat_server_us:.1f} µs |",
        f"| mailbox drain (read + acknowledge) | Redis CPU | "
        f"{costs.drain_server_us_per_entry:.2f} µs/entry |",
        *(
            f"| group of {k} member(s) | Redis memory | {v:.0f} B |"
            for k, v in costs.group_bytes.items()
        ),
        f"| queued mailbox entry, list | Redis memory | {costs.list_entry_bytes:.0f} B |",
        f"| queued mailbox entry, stream | Redis memory | {costs.stream_entry_bytes:.0f} B |",
        *(
            f"| group_send, {k} member(s), 16 senders | sender CPU | {v:.1f} µs |"
            for k, v in costs.send_client_us.items()
        ),
        f"| connections per process, single Redis | count | {costs.connections_per_process} |",
        *(
            f"| one-key EVALSHA through {k}, 16 callers | client CPU | {v:.1f} µs |"
            for k, v in costs.call_client_us.items()
        ),
    ]
    if costs.cluster_connections[0]:
        held, read = costs.cluster_connections
        rows.append(
            f"| connections per process on the {MASTERS}-master cluster, in groups of every "
            f"partition ({read} readers) | count | {held} |"
        )
    rows += [
        f"| group_send on the {MASTERS}-master cluster, {k} member processes | Redis CPU "
        f"(all masters) | {v:.1f} µs |"
        for k, v in costs.cluster_send_server_us.items()
    ]
    table = "| cost | of | measured |\n|---|---|---|\n" + "\n".join(rows)
    return table + (f"\n\n({costs.cluster_note})" if costs.cluster_note else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tidings.bench.capacity", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    parser.add_argument(
        "--no-cluster", action="store_true", help="skip the cluster client measurement"
    )
    args = parser.parse_args(argv)
    costs = asyncio.run(measure(args.quick, not args.no_cluster))
    print("## Measured per-operation costs\n")
    print(costs_table(costs))
    print("\n## The plan, calculated from them\n")
    print(plan(costs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
