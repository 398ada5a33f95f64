"""The ``tidings`` command: demo, bench, inspect, listen, send, group-send, worker."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidings", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    from .bench.cli import add_parser as add_bench
    from .demo.server import add_parser as add_demo
    from .inspect import add_parsers as add_inspect
    from .worker import add_parser as add_worker

    add_demo(sub)
    add_bench(sub)
    add_inspect(sub)
    add_worker(sub)
    args = parser.parse_args(argv)
    from .exceptions import TidingsError

    try:
        result: int = args.func(args)
    except TidingsError as exc:
        # One line, no traceback: the exception already says what is wrong and the fix.
        raise SystemExit(f"tidings {args.command}: {exc}") from None
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
