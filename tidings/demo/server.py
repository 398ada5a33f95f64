"""``tidings demo``: serve the dashboard with uvicorn on the in-memory layer or Redis."""

from __future__ import annotations

import argparse
import os
import secrets


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("tidings demo needs uvicorn: pip install 'tidings[server]'") from None
    if args.workers > 1 and not args.redis:
        raise SystemExit(
            "--workers > 1 needs --redis URL: the in-memory layer lives in one process, so "
            "pages on different workers would not see each other's broadcasts."
        )
    url = args.redis or "memory://"
    if args.redis:
        _check_redis(args.redis)
    # One session secret for every server process, so a login works on any of them.
    os.environ.setdefault("TIDINGS_DEMO_SECRET", secrets.token_urlsafe(32))
    # The dashboard keeps the last 200 ingests so a page that reconnects can catch up.
    os.environ["TIDINGS_URL"] = (
        url + ("&" if "?" in url else "?") + "history_groups=index&history_size=200"
    )
    if args.job_workers and not args.redis:
        raise SystemExit("--job-workers needs --redis URL: workers are other processes.")
    print(
        f"tidings demo on http://{args.host}:{args.port}/  (layer: "
        f"{'redis' if args.redis else 'memory'}, workers: {args.workers})"
    )
    print(
        f"  broadcast: curl -X POST http://{args.host}:{args.port}/ingest "
        "-d '{\"data\": [1, 2, 3, 4, 5, 6, 7]}'"
    )
    from .processes import job_workers

    with job_workers(args.job_workers, os.environ["TIDINGS_URL"]):
        uvicorn.run(
            "tidings.demo.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            ws="websockets-sansio",
        )
    return 0


def _check_redis(url: str) -> None:
    """Fail at start, in one line, if ``--redis`` is malformed or Redis does not answer."""
    import asyncio

    from ..config import layer_from_url
    from ..exceptions import ConfigurationError, TidingsError

    try:
        layer = layer_from_url(url)
    except ConfigurationError as exc:
        raise SystemExit(f"tidings demo: --redis: {exc}") from None

    async def reach() -> None:
        try:
            await layer.group_channels("index")
        finally:
            await layer.close()

    try:
        asyncio.run(reach())
    except TidingsError as exc:
        raise SystemExit(f"tidings demo: {exc}") from None
