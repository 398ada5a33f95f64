"""What a Redis layer holds right now, as data: the ``tidings inspect`` report.

Read straight from Redis on every host (every partition): the processes that heartbeat
(with the counters each publishes), groups and their live members, process mailboxes
and normal channels with their depths. Nothing is written.
"""

from __future__ import annotations

from typing import Any

from ...rules.patterns import escape_glob
from .connection import Client, command


async def snapshot(layer: Any) -> dict[str, Any]:
    """What ``tidings inspect`` shows: processes, groups, queues, as JSON-ready data.

    ``layer`` is a ``RedisChannelLayer`` (typed loosely: no module here imports layer.py).
    """
    keys = layer.keys
    connections = layer.connections
    processes: dict[str, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    queues: list[dict[str, Any]] = []
    base = escape_glob(keys.prefix) + "{*}:"  # every partition's keys, and no other prefix's
    for host in range(len(layer.hosts)):
        partitions = [p for p in range(keys.partitions) if connections.host_of(p) == host]

        async def read(
            client: Client, host: int = host, partitions: list[int] = partitions
        ) -> None:
            now_s, now_us = await client.time()
            now = now_s * 1000 + now_us / 1000
            for partition in partitions:  # a process beats in every partition it reads
                for raw, score in await client.zrange(
                    keys.alive(partition), 0, -1, withscores=True
                ):
                    instance = raw.decode()
                    age = (now - score) / 1000
                    seen = processes.get(instance)
                    if seen is not None and seen["beat_age"] <= age:
                        continue
                    home = keys.partition(instance)
                    stats = (
                        {
                            k.decode(): v.decode()
                            for k, v in pairs(
                                await command(client, "HGETALL", keys.stats(home, instance))
                            )
                        }
                        if connections.host_of(home) == host
                        else {}
                    )
                    entry: dict[str, Any] = dict(seen or {})
                    entry.update(
                        {
                            "instance": instance,
                            "beat_age": round(age, 1),
                            # The same rule group_send uses to skip a process: three missed
                            # beats.
                            "stale": age > 3 * layer.heartbeat_interval,
                        }
                    )
                    entry.update(
                        {k: (int(v) if v.isdigit() else v) for k, v in stats.items() if k != "beat"}
                    )
                    processes[instance] = entry
            async for raw in client.scan_iter(match=base + "group:*", count=500):
                name = raw.decode().split("}:group:", 1)[1]
                groups.append(
                    {
                        "group": name,
                        "members": len(await layer.group_channels(name)),
                        "processes": sum(
                            1 for m in await client.zrange(raw, 0, -1) if m.endswith(b"!")
                        ),
                    }
                )
            for kind, length in (("mbox", "XLEN"), ("chan", "LLEN")):
                async for raw in client.scan_iter(match=f"{base}{kind}:*", count=500):
                    depth = await command(client, length, raw)
                    queues.append({"key": raw.decode(), "depth": depth})

        await connections.run(host, read)
    return {
        "layer": repr(layer),
        "processes": sorted(processes.values(), key=lambda p: p["instance"]),
        "groups": sorted(groups, key=lambda g: g["group"]),
        "queues": sorted(queues, key=lambda q: -q["depth"]),
    }


def pairs(reply: Any) -> list[tuple[bytes, bytes]]:
    """HGETALL as pairs, whether the client hands back a dict or a flat list."""
    if isinstance(reply, dict):
        return list(reply.items())
    return list(zip(reply[::2], reply[1::2], strict=True))
