"""``tidings worker``: run consumers on jobs sent to normal channels (Channels' runworker)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

from ..exceptions import ConfigurationError, InvalidName


def add_parser(sub: Any) -> None:
    """Add ``tidings worker`` to the subcommands."""
    from ..worker import __doc__ as about

    parser = sub.add_parser(
        "worker",
        help="run consumers on jobs sent to normal channels (Channels' runworker)",
        description=about.split("\n\n")[0] if about else None,
    )
    parser.add_argument("app", metavar="MODULE:APP", help="the ASGI app, e.g. jobs:application")
    parser.add_argument("channels", metavar="CHANNEL", nargs="+", help="channels to take jobs from")
    parser.add_argument(
        "--url",
        help="the layer, e.g. redis://127.0.0.1:6379/0 (default: $TIDINGS_URL)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="jobs handled at once per channel; never more are taken from Redis",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run a worker until SIGTERM/SIGINT; 0 after a graceful stop."""
    from ..worker import Worker, check_setup, load, serve

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    # Read here, not as the option's default: --help must never print the URL (a password).
    url = args.url or os.environ.get("TIDINGS_URL")
    try:
        check_setup(args.channels, args.concurrency)
        application, layer = load(args.app, args.channels, url)
        worker = Worker(application, args.channels, layer, args.concurrency)
    except (ConfigurationError, InvalidName) as exc:
        sys.stderr.write(f"tidings worker: {exc}\n")
        return 1
    return asyncio.run(serve(worker))
