"""What a Redis layer holds right now, as data: the ``tidings inspect`` report.

Read straight from Redis on every host: the processes that heartbeat (with the counters
each publishes), groups and their live members, process mailboxes and normal channels with
their depths. Nothing is written.
"""

from __future__ import annotations

from typing import Any

from .connection import Client, command


async def snapshot(layer: Any) -> dict[str, Any]:
    """What ``tidings inspect`` shows: processes, groups, queues, as JSON-ready data.

    ``layer`` is a ``RedisChannelLayer`` (typed loosely: no module here imports layer.py).
    """
    keys = layer.keys
    processes: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    queues: list[dict[str, Any]] = []
    for index in range(len(layer.hosts)):

        async def read(client: Client) -> None:
            now_s, now_us = await client.time()
            now = now_s * 1000 + now_us / 1000
            for raw, score in await client.zrange(keys.alive, 0, -1, withscores=True):
                instance = raw.decode()
                stats = {
                    k.decode(): v.decode()
                    for k, v in pairs(await command(client, "HGETALL", keys.stats(instance)))
                }
                age = (now - score) / 1000
                entry: dict[str, Any] = {
                    "instance": instance,
                    "beat_age": round(age, 1),
                    # The same rule group_send uses to skip a process: three missed beats.
                    "stale": age > 3 * layer.heartbeat_interval,
                }
                entry.update(
                    {k: (int(v) if v.isdigit() else v) for k, v in stats.items() if k != "beat"}
                )
                processes.append(entry)
            async for raw in client.scan_iter(match=keys.prefix + "group:*", count=500):
                name = raw.decode()[len(keys.prefix + "group:") :]
                groups.append(
                    {
                        "group": name,
                        "members": len(await layer.group_channels(name)),
                        "processes": sum(
                            1 for m in await client.zrange(raw, 0, -1) if m.endswith(b"!")
                        ),
                    }
                )
            for kind, length in (("mailbox", "XLEN"), ("chan", "LLEN")):
                async for raw in client.scan_iter(match=f"{keys.prefix}{kind}:*", count=500):
                    depth = await command(client, length, raw)
                    queues.append({"key": raw.decode(), "depth": depth})

        await layer.connections.run(index, read)
    return {
        "layer": repr(layer),
        "processes": sorted(processes, key=lambda p: p["instance"]),
        "groups": sorted(groups, key=lambda g: g["group"]),
        "queues": sorted(queues, key=lambda q: -q["depth"]),
    }


def pairs(reply: Any) -> list[tuple[bytes, bytes]]:
    """HGETALL as pairs, whether the client hands back a dict or a flat list."""
    if isinstance(reply, dict):
        return list(reply.items())
    return list(zip(reply[::2], reply[1::2], strict=True))
