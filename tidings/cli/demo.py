"""``tidings demo``: its options here; the demo's web stack loads only when it runs."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``tidings demo`` to the subcommands."""
    demo = sub.add_parser(
        "demo",
        help="the live dashboard: POST /ingest redraws every open page",
        description="Serve the demo dashboard and chat with uvicorn, on the in-memory layer "
        "or, with --redis, across worker processes. Needs pip install 'tidings[server]'.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--port", type=int, default=8000, help="port to listen on")
    demo.add_argument("--redis", metavar="URL", help="use RedisChannelLayer at URL")
    demo.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    demo.add_argument(
        "--job-workers",
        type=int,
        default=0,
        help="with --redis: POST /ingest queues a job for this many `tidings worker` processes",
    )
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo.server import run as run_demo

    return run_demo(args)
