"""The ``tidings`` command: demo, bench, inspect, listen, send, group-send, worker.

The parsing of every command lives here, one module per command group; each command
imports what it runs only when it runs, so ``tidings --help`` or ``tidings send`` loads
neither the benchmark harness nor the demo's web stack.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """States every option's default in ``--help``, except an absent one (None, or off
    for a flag): "(default: None)" says nothing a reader can use."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help states defaults; subcommands inherit it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> Parser:
    """The whole command line: ``tidings [--version] COMMAND ...``."""
    from .. import __version__
    from . import bench, demo, layer, worker

    parser = Parser(
        prog="tidings",
        description="tidings: channel layers for real-time Python apps. "
        "Every command takes --help.",
    )
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_parser(sub)
    bench.add_parser(sub)
    layer.add_parsers(sub)
    worker.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tidings`` with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    args = build_parser().parse_args(argv)
    from ..exceptions import TidingsError

    try:
        result: int = args.func(args)
    except TidingsError as exc:
        # One line, no traceback: the exception already says what is wrong and the fix.
        raise SystemExit(f"tidings {args.command}: {exc}") from None
    except KeyboardInterrupt:
        return 130
    return result
