"""Every layer option declared once: its type, bounds, default and meaning. Pure.

The layers' constructors check their options here, so ``CHANNEL_LAYERS[...]["CONFIG"]``
(which Channels passes to the constructor itself), keyword arguments and ``TIDINGS_URL``
all get the same checks: an unknown option or a value of the wrong type or out of bounds
is a ``ConfigurationError`` naming the option, at construction, never at first use.
Query-string values are text and are converted by the option's declared type, so
``?prefix=2024`` stays the str ``"2024"``.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import ConfigurationError

Kind = Literal[
    "seconds", "delay", "count", "prefix", "patterns", "capacities", "hosts", "keys", "partitions"
]
DAY = 86_400.0
MB = 1024 * 1024
PREFIX = re.compile(r"[A-Za-z0-9_.\-/#@+=~]{1,64}")


@dataclass(frozen=True)
class Option:
    """One option: ``kind`` says how values are checked and parsed from text."""

    name: str
    kind: Kind
    default: Any
    doc: str
    low: float = 0.0
    high: float = math.inf

    def check(self, value: object) -> Any:
        """``value`` in its checked form; ``ConfigurationError`` naming the option if bad."""
        return _CHECKS[self.kind](self, value)

    def parse(self, text: str) -> Any:
        """The value of a query-string ``text``, by this option's declared type."""
        if self.kind in ("count", "partitions"):
            try:
                return int(text)
            except ValueError:
                raise self.error(text, "a whole number") from None
        if self.kind in ("seconds", "delay"):
            try:
                return float(text)
            except ValueError:
                raise self.error(text, "a number of seconds") from None
        if self.kind in ("patterns", "keys"):
            return [part for part in text.split(",") if part]
        if self.kind == "capacities":
            pairs = []
            for item in filter(None, text.split(",")):
                pattern, sep, count = item.rpartition(":")
                if not sep:
                    raise self.error(text, "pattern:capacity pairs, e.g. 'tiny.*:1,http.*:200'")
                pairs.append((pattern, self.check_count_text(count, text)))
            return pairs
        return text

    def check_count_text(self, count: str, text: str) -> int:
        try:
            return int(count)
        except ValueError:
            raise self.error(text, "pattern:capacity pairs, e.g. 'tiny.*:1,http.*:200'") from None

    def error(self, value: object, want: str) -> ConfigurationError:
        return ConfigurationError(f"{self.name} must be {want}, got {value!r}.")


def _seconds(option: Option, value: object) -> float:
    want = f"a number of seconds > {option.low:g} and at most {option.high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option.error(value, want)
    if not (math.isfinite(value) and option.low < value <= option.high):
        raise option.error(value, want)
    return float(value)


def _delay(option: Option, value: object) -> float:
    """Seconds where 0 means "no delay": from 0 to ``high``."""
    want = f"a number of seconds from 0 to {option.high:g} (0: none)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option.error(value, want)
    if not (math.isfinite(value) and 0 <= value <= option.high):
        raise option.error(value, want)
    return float(value)


def _count(option: Option, value: object, name: str | None = None) -> int:
    if type(value) is not int or not option.low <= value <= option.high:
        raise ConfigurationError(
            f"{name or option.name} must be a whole number >= {option.low:g} and at most "
            f"{option.high:,.0f}, got {value!r}."
        )
    return value


def _prefix(option: Option, value: object) -> str:
    if type(value) is not str or not PREFIX.fullmatch(value):
        raise option.error(
            value,
            "1 to 64 of ASCII letters, digits and - _ . / # @ + = ~ (no ':', spaces, "
            "backslashes, braces or glob characters, so one prefix's keys can never match "
            "another's)",
        )
    return value


def check_pattern(value: object, option: str) -> str | re.Pattern[str]:
    """A glob string or a compiled ``str`` regex; anything else is a ``ConfigurationError``."""
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            raise ConfigurationError(
                f"{option} has a bytes regex {value!r}; names are str: compile a str pattern."
            )
        return value
    if isinstance(value, str) and value:
        return value
    raise ConfigurationError(
        f"{option} patterns must be glob strings or compiled regexes, got {value!r}."
    )


def _patterns(option: Option, value: object) -> tuple[str | re.Pattern[str], ...]:
    if isinstance(value, (str, re.Pattern)):
        return (check_pattern(value, option.name),)
    if isinstance(value, (Mapping, bytes)) or not isinstance(value, Iterable):
        raise option.error(
            value, "a list of glob strings or compiled regexes, e.g. ['room.*'] ([] for none)"
        )
    return tuple(check_pattern(item, option.name) for item in value)


def _capacities(option: Option, value: object) -> tuple[tuple[str | re.Pattern[str], int], ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items: Iterable[object] = value.items()
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        items = value
    else:
        raise option.error(value, "a dict of pattern -> capacity, e.g. {'tiny.*': 1}")
    checked = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise option.error(item, "(pattern, capacity) pairs")
        pattern, count = item
        pattern = check_pattern(pattern, option.name)
        checked.append((pattern, _count(CAPACITY, count, f"{option.name}[{pattern!r}]")))
    return tuple(checked)


def _partitions(option: Option, value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not option.low <= value <= option.high:
        raise ConfigurationError(
            f"partitions must be a whole number from {option.low:g} to {option.high:g} (or "
            f"None: 16 on a Redis Cluster, one per host otherwise), got {value!r}. More "
            "partitions than masters spread the load; each costs every process one "
            "blocking connection."
        )
    return value


def _anything(option: Option, value: object) -> object:
    return value  # checked by the owner (hosts.py), which knows the forms


def _keys(option: Option, value: object) -> object:
    # The shape only (crypto.py checks each key); never echo the value: it is a secret.
    if value is None or (isinstance(value, (list, tuple)) and value):
        return value
    raise ConfigurationError(
        f"{option.name} must be a non-empty list of keys (str or bytes), got a "
        f"{type(value).__name__}."
    )


_CHECKS = {
    "seconds": _seconds,
    "delay": _delay,
    "count": _count,
    "prefix": _prefix,
    "patterns": _patterns,
    "capacities": _capacities,
    "hosts": _anything,
    "keys": _keys,
    "partitions": _partitions,
}

CAPACITY = Option("capacity", "count", 100, "unread messages a channel holds", 1, 10_000_000)
CHANNEL_CAPACITY = Option(
    "channel_capacity", "capacities", None, "per-name capacity: {pattern: capacity}"
)
# Every deadline on Redis is 15 digits of milliseconds, so no duration may reach
# centuries; a year is far more than any use needs.
COMMON = (
    Option("expiry", "seconds", 60.0, "an unread message is dropped after this", 0.001, 365 * DAY),
    Option(
        "group_expiry",
        "seconds",
        86400.0,
        "membership ends this long after the last group_add",
        0.001,
        365 * DAY,
    ),
    CAPACITY,
    CHANNEL_CAPACITY,
    Option(
        "max_message_size",
        "count",
        4 * MB,
        "largest encoded message, bytes",
        MB + 1024,
        512 * MB,
    ),
    Option(
        "drop_warning_interval",
        "seconds",
        10.0,
        "at most one drop warning per group per this",
        0.0,
        DAY,
    ),
    Option("presence_groups", "patterns", (), "groups that announce joins and leaves"),
    Option("history_groups", "patterns", (), "groups that keep a history"),
    Option("history_size", "count", 100, "messages kept per history group", 1, 1_000_000),
    Option("history_ttl", "seconds", 3600.0, "a history entry is kept this long", 0.001, 365 * DAY),
)
REDIS = (
    *COMMON,
    Option("hosts", "hosts", None, "Redis URLs, (host, port) tuples or dicts"),
    Option("prefix", "prefix", "asgi", "start of every Redis key"),
    Option("symmetric_encryption_keys", "keys", None, "keys that encrypt payloads"),
    Option("mailbox_capacity", "count", 10_000, "entries a process mailbox holds", 1, 10_000_000),
    Option(
        "heartbeat_interval", "seconds", 5.0, "how often a process says it is alive", 0.05, 3600
    ),
    Option("timeout", "seconds", 5.0, "longest wait for an unreachable Redis", 0.01, 3600),
    Option(
        "batch_window",
        "delay",
        0.001,
        "under load (4+ messages a window), group messages are read at most this often "
        "(0: at once)",
        0.0,
        1.0,
    ),
    Option(
        "partitions",
        "partitions",
        None,
        "key partitions (hash slots); None: 16 on a Cluster, else one per host",
        1,
        1024,
    ),
)
SCHEMAS: dict[str, tuple[Option, ...]] = {"memory": COMMON, "redis": REDIS}


def resolve(schema: Iterable[Option], given: Mapping[str, object], owner: str) -> dict[str, Any]:
    """Every option of ``schema``: the checked given value, else its default.

    An option not in ``schema`` is a ``ConfigurationError`` naming it, the closest
    valid name and every valid one.
    """
    options = {option.name: option for option in schema}
    given = dict(given)
    for old, new in RENAMED.items():
        if old in given and old not in options and new in options:
            if new in given:
                raise both_names(old, new, owner)
            given[current_name(old)] = given.pop(old)
    for name in given:
        if name not in options:
            raise unknown(name, options, owner)
    return {
        name: option.check(given[name]) if name in given else option.default
        for name, option in options.items()
    }


def unknown(name: object, options: Iterable[str], owner: str) -> ConfigurationError:
    choices = sorted(options)
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    return ConfigurationError(
        f"{owner} has no option {name!r};{hint} valid options: {', '.join(choices)}."
    )


# Options that were renamed: the old name still works, with a DeprecationWarning.
RENAMED = {"inbox_capacity": "mailbox_capacity"}


def both_names(old: str, new: str, owner: str) -> ConfigurationError:
    return ConfigurationError(f"{owner} got both {new} and {old} (its old name); give only {new}.")


def current_name(name: str) -> str:
    """``name``, or the new name of a renamed option (warning once per call site)."""
    new = RENAMED.get(name)
    if new is None:
        return name
    warnings.warn(
        f"the option {name!r} is now called {new!r} (a process's Redis stream is its "
        f"mailbox; an inbox is one channel's queue); {name!r} still works for now",
        DeprecationWarning,
        stacklevel=4,
    )
    return new


def parse_query(
    schema: Iterable[Option], pairs: Iterable[tuple[str, str]], owner: str
) -> dict[str, Any]:
    """Query-string pairs to option values, each by its declared type (not checked yet;
    a renamed option keeps its old name here, for ``resolve`` to map and warn about)."""
    options = {option.name: option for option in schema}
    parsed: dict[str, Any] = {}
    for name, text in pairs:
        option = options.get(name) or options.get(RENAMED.get(name, ""))
        if option is None:
            raise unknown(name, options, owner)
        parsed[name] = option.parse(text)
    return parsed
