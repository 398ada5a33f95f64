"""The ``tidings`` command: ``tidings demo``, ``tidings bench ...``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidings", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="show group broadcast in a running example")
    demo.add_argument("--pages", type=int, default=3, help="how many listeners to start")
    demo.set_defaults(func=_demo)

    from .bench.cli import add_parser

    add_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _demo(args: argparse.Namespace) -> int:
    from .demo.broadcast import run

    return run(args.pages)


if __name__ == "__main__":
    raise SystemExit(main())
