"""``POST /ingest``: the seed's IngestView as a synchronous function. Input rules are pure."""

from __future__ import annotations

import json
import random
from typing import Any

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EXPECTED = 'a JSON body like {"data": [6, 3, 10, 2, 10, 1, 10]} (seven numbers), or no body'


class BadIngest(ValueError):
    """Raised when an ingest body is not what the dashboard can draw."""


def random_data() -> list[int]:
    """A week of values from 1 to 10, as the seed article makes them."""
    return [random.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) for _ in DAYS]


def parse_ingest(body: bytes) -> list[float]:
    """The seven values to draw; random ones for an empty body; ``BadIngest`` otherwise."""
    if not body.strip():
        return list(random_data())
    try:
        content: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadIngest(f"The body is not JSON; send {EXPECTED}.") from None
    if not isinstance(content, dict) or "data" not in content:
        raise BadIngest(f"The JSON has no 'data' key; send {EXPECTED}.")
    data = content["data"]
    if not isinstance(data, list) or len(data) != len(DAYS):
        got = f"{len(data)} values" if isinstance(data, list) else type(data).__name__
        raise BadIngest(f"'data' must hold 7 numbers (Monday to Sunday), got {got}.")
    for day, value in zip(DAYS, data, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadIngest(f"'data' for {day} is {value!r}; every value must be a number.")
        if value != value or value in (float("inf"), float("-inf")):
            raise BadIngest(f"'data' for {day} is {value!r}; use a finite number.")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise BadIngest(f"'data' for {day} is too large; use a number within +-2**63.")
    return [float(v) if isinstance(v, float) else v for v in data]


def ingest(layer: Any, body: bytes) -> dict[str, Any]:
    """Broadcast the week to every open page, from synchronous code, and report it."""
    data = parse_ingest(body)
    report = layer.sync.group_send("index", {"type": "websocket.ingest", "text": data})
    return {"data": data, **report.as_dict()}
