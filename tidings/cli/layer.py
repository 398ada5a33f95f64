"""``tidings inspect / listen / send / group-send``: look at and poke a running layer.

All take ``--url`` (default: ``TIDINGS_URL``). ``inspect`` reads Redis directly
(``tidings.layers.redis.introspection``): the processes that heartbeat (with the counters
each publishes), groups and their live members, process mailboxes and normal channels with
their depths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from ..config import layer_from_url
from ..exceptions import ConfigurationError
from ..rules import names
from ..rules.messages import check_message
from ..statistics import PUBLISHED
from .tables import table

URL_HELP = "layer URL, e.g. redis://127.0.0.1:6379/0?prefix=asgi (default: $TIDINGS_URL)"


def add_parsers(sub: Any) -> None:
    """Add ``inspect``, ``listen``, ``send`` and ``group-send`` to the subcommands."""
    inspect = sub.add_parser(
        "inspect",
        help="processes, groups, members, mailbox depths, drops",
        description="Show what a Redis layer holds now: processes (with their counters), "
        "groups and live members, process mailboxes and normal channels with their depths.",
        epilog="A process is STALE when it missed three heartbeats (3 x the URL's "
        "heartbeat_interval): it stopped or hangs, and group sends skip it.",
    )
    inspect.add_argument("--url", help=URL_HELP)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    inspect.set_defaults(func=lambda a: asyncio.run(_inspect(a)))

    listen = sub.add_parser(
        "listen",
        help="join GROUP and print its messages as they come",
        description="Join GROUP with a new channel and print each message as one JSON line "
        "until --count messages, --seconds, or Ctrl-C; leaves the group on the way out.",
    )
    listen.add_argument("group", help="the group to listen to")
    listen.add_argument("--url", help=URL_HELP)
    listen.add_argument("--count", type=int, help="stop after this many messages (default: never)")
    listen.add_argument("--seconds", type=float, help="stop after this long (default: never)")
    listen.set_defaults(func=lambda a: asyncio.run(_listen(a)))

    for command, target, example, report in (
        ("send", "channel", "chat.message", '{"sent": CHANNEL}'),
        ("group-send", "group", "chart.update", "the group-send report as JSON"),
    ):
        parser = sub.add_parser(
            command,
            help=f"send one JSON message to {target.upper()}",
            description=f"Send one message to a {target}; prints {report}.",
        )
        parser.add_argument(target, help=f"the {target} name")
        parser.add_argument("message", help=f'JSON object, e.g. \'{{"type": "{example}"}}\'')
        parser.add_argument("--url", help=URL_HELP)
        parser.set_defaults(func=lambda a, group=target == "group": asyncio.run(_send(a, group)))


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
    from ..layers.redis.introspection import snapshot

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
