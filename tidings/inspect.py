"""``tidings inspect / listen / send / group-send``: look at and poke a running layer.

All take ``--url`` (default: ``TIDINGS_URL``). ``inspect`` reads Redis directly: the
processes that heartbeat (with the counters each publishes), groups and their live
members, process inboxes and normal channels with their depths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from .bench.report import table
from .config import layer_from_url
from .exceptions import ConfigurationError
from .rules import names
from .rules.messages import check_message
from .statistics import PUBLISHED


def add_parsers(sub: Any) -> None:
    url_help = "layer URL, e.g. redis://127.0.0.1:6379/0?prefix=asgi (default: TIDINGS_URL)"
    inspect = sub.add_parser("inspect", help="processes, groups, members, inbox depths, drops")
    inspect.epilog = (
        "A process is STALE when it missed three heartbeats (3 x the URL's heartbeat_interval):"
        " it stopped or hangs, and group sends skip it."
    )
    inspect.add_argument("--url", help=url_help)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    inspect.set_defaults(func=lambda a: asyncio.run(_inspect(a)))

    listen = sub.add_parser("listen", help="join GROUP and print its messages as they come")
    listen.add_argument("group")
    listen.add_argument("--url", help=url_help)
    listen.add_argument("--count", type=int, help="stop after this many messages")
    listen.add_argument("--seconds", type=float, help="stop after this long")
    listen.set_defaults(func=lambda a: asyncio.run(_listen(a)))

    send = sub.add_parser("send", help="send one JSON message to CHANNEL")
    send.add_argument("channel")
    send.add_argument("message", help='JSON object, e.g. \'{"type": "chat.message"}\'')
    send.add_argument("--url", help=url_help)
    send.set_defaults(func=lambda a: asyncio.run(_send(a, group=False)))

    group_send = sub.add_parser("group-send", help="send one JSON message to GROUP")
    group_send.add_argument("group")
    group_send.add_argument("message", help='JSON object, e.g. \'{"type": "chart.update"}\'')
    group_send.add_argument("--url", help=url_help)
    group_send.set_defaults(func=lambda a: asyncio.run(_send(a, group=True)))


def _layer(url: str | None) -> Any:
    source = "--url"
    if not url:
        url, source = os.environ.get("TIDINGS_URL"), "TIDINGS_URL"
    if not url:
        raise SystemExit("Give --url redis://host:port/db (or set TIDINGS_URL).")
    if url.startswith("memory:"):
        raise SystemExit(
            f"{source}: a memory:// layer lives inside one process; from a terminal you can "
            "only reach a shared backend. Use --url redis://host:port/db?prefix=..."
        )
    try:
        return layer_from_url(url)
    except ConfigurationError as exc:
        raise SystemExit(f"{source}: {exc}") from None


def _message(text: str) -> dict[str, Any]:
    """The MESSAGE argument, checked before any connection is made."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(
            f'MESSAGE is not JSON ({exc}); e.g. \'{{"type": "chat.message"}}\''
        ) from None
    if not isinstance(message, dict):
        raise SystemExit('MESSAGE must be a JSON object, e.g. \'{"type": "chat.message"}\'')
    check_message(message)
    return message


async def _send(args: argparse.Namespace, group: bool) -> int:
    # Bad input is reported before a connection is tried.
    if group:
        names.check_group_name(args.group)
    else:
        names.check_channel_name(args.channel)
    message = _message(args.message)
    layer = _layer(args.url)
    try:
        if group:
            report = await layer.group_send(args.group, message)
            print(json.dumps(report.as_dict()))
        else:
            await layer.send(args.channel, message)
            print(json.dumps({"sent": args.channel}))
    finally:
        await layer.close()
    return 0


async def _listen(args: argparse.Namespace) -> int:
    names.check_group_name(args.group)
    layer = _layer(args.url)
    try:  # reach Redis once before the reader starts (and would log its retries)
        await layer.group_channels(args.group)
    except BaseException:
        await layer.close()
        raise
    channel = await layer.new_channel("listen")
    deadline = time.monotonic() + args.seconds if args.seconds else None
    got = 0
    joined = False
    try:
        await layer.group_add(args.group, channel)
        joined = True
        sys.stderr.write(f"listening on group {args.group!r} as {channel}\n")
        while args.count is None or got < args.count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                message = await asyncio.wait_for(layer.receive(channel), left)
            except TimeoutError:
                break
            print(json.dumps(message, default=repr), flush=True)
            got += 1
    finally:
        try:
            if joined:
                await layer.group_discard(args.group, channel)
        finally:
            await layer.close()
    return 0


async def _inspect(args: argparse.Namespace) -> int:
    layer = _layer(args.url)
    try:
        report = await snapshot(layer)
    finally:
        await layer.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"# {report['layer']}")
    print("\nprocesses")
    print(
        table(
            ["instance", "state", "host", "pid", "last beat s", *PUBLISHED],
            [
                [
                    p["instance"],
                    "STALE" if p["stale"] else "alive",
                    p.get("host", "-"),
                    p.get("pid", "-"),
                    p["beat_age"],
                    *(p.get(name, "-") for name in PUBLISHED),  # what heartbeats publish
                ]
                for p in report["processes"]
            ],
        )
    )
    print("\ngroups")
    print(
        table(
            ["group", "live members", "processes"],
            [[g["group"], g["members"], g["processes"]] for g in report["groups"]],
        )
    )
    print("\nprocess mailboxes and normal channels")
    print(table(["key", "depth"], [[q["key"], q["depth"]] for q in report["queues"]]))
    return 0


async def snapshot(layer: Any) -> dict[str, Any]:
    """What ``inspect`` shows, as data (also used by tests)."""
    from .layers.redis.connection import Client, command

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
            for kind in ("mailbox", "chan"):
                async for raw in client.scan_iter(match=f"{keys.prefix}{kind}:*", count=500):
                    depth = await command(client, "LLEN", raw)
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
