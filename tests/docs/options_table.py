"""The configuration reference's option tables, rendered from ``tidings.rules.options``.

``docs/configuration.md`` holds the tables between ``<!-- options:memory -->`` /
``<!-- options:redis -->`` markers and ``<!-- /options -->``; ``test_docs.py`` fails when
they differ from what this renders. Regenerate after changing an option:

    python -m tests.docs.options_table docs/configuration.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tidings.rules.options import COMMON, REDIS, Option

DAY = 86_400
MARKED = re.compile(r"(<!-- options:(\w+) -->\n)(.*?)(<!-- /options -->)", re.S)


def _seconds(value: float) -> str:
    """Seconds as configured, with the duration a reader thinks in when it is long."""
    for unit, size in (("days", DAY), ("h", 3600)):
        if value >= size and value % size == 0:
            return f"{value:,.0f} s ({value / size:g} {unit})".replace("(1 days)", "(1 day)")
    return f"{value:g} s"


def _count(option: Option, value: float) -> str:
    if option.name == "max_message_size":
        mib, rest = divmod(int(value), 1024 * 1024)
        return f"{mib} MiB" + (f" + {rest // 1024} KiB" if rest else "")
    return f"{value:,.0f}"


def default(option: Option) -> str:
    value = option.default
    if option.name == "hosts":
        return "`['redis://localhost:6379']`"
    if value is None or value == ():
        return "none"
    if option.kind in ("seconds", "delay"):
        return _seconds(value)
    if option.kind == "count":
        return _count(option, value)
    return f"`{value!r}`"


def bounds(option: Option) -> str:
    if option.kind == "seconds":
        low = "> 0" if option.low == 0 else f"{_seconds(option.low)}"
        return f"{low} to {_seconds(option.high)}"
    if option.kind == "delay":
        return f"0 to {_seconds(option.high)}"
    if option.kind == "count":
        return f"{_count(option, option.low)} to {_count(option, option.high)}"
    return {
        "prefix": "1 to 64 of `A-Z a-z 0-9 - _ . / # @ + = ~`",
        "patterns": "list of globs / `str` regexes",
        "capacities": "each 1 to 10,000,000",
        "hosts": "see [Redis hosts](#redis-hosts)",
        "keys": "non-empty list of `str`/`bytes` keys",
        "partitions": "1 to 1,024",
    }[option.kind]


def table(options: tuple[Option, ...]) -> str:
    rows = ["| option | default | bounds | meaning |", "| --- | --- | --- | --- |"]
    for option in options:
        rows.append(f"| `{option.name}` | {default(option)} | {bounds(option)} | {option.doc} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every marked table replaced by the current one."""
    schemas = {"memory": COMMON, "redis": REDIS[len(COMMON) :]}
    return MARKED.sub(lambda m: m[1] + table(schemas[m[2]]) + m[4], text)


if __name__ == "__main__":
    path = Path(sys.argv[1])
    path.write_text(render(path.read_text()))
