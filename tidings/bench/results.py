"""One row of benchmark results, whatever the scenario."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..cli.tables import table


@dataclass
class Outcome:
    """One contender's figures in one scenario at one size."""

    scenario: str
    layer: str
    size: int
    rate: float
    unit: str
    expected: int
    received: int
    duplicates: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds
    timed_out: bool = False
    note: str = ""
    cpu_per_1000: float | None = None  # the sending process's CPU seconds per 1000 sends
    receivers_cpu: list[float] = field(default_factory=list)  # each receiver's CPU seconds
    paced: bool = False  # sent on a fixed schedule: compare latencies, not rates

    @property
    def lost(self) -> int:
        return self.expected - self.received

    @property
    def check(self) -> str:
        if self.timed_out:
            return "partial"
        if self.lost > 0:
            return "MISSING"
        return "DUP" if self.duplicates else "ok"

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in ms (NaN without latencies)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def outcome_table(
    outcomes: list[Outcome],
    ratio: Callable[[Outcome], str],
    who: str = "layer",
    ratio_header: str = "tidings is",
) -> str:
    """One row per measurement; ``ratio`` gives the last column of a row."""
    rows = [
        [
            o.scenario,
            o.size,
            o.layer,
            o.rate,
            o.unit,
            _ms(o.percentile(50)),
            _ms(o.percentile(99)),
            f"{o.received}/{o.expected}",
            o.duplicates,
            o.check,
            f"{o.cpu_per_1000:.3f}" if o.cpu_per_1000 is not None else "-",
            ratio(o),
        ]
        for o in outcomes
    ]
    headers = ["scenario", "size", who, "rate", "unit", "p50 ms", "p99 ms", "received"]
    return table([*headers, "dup", "check", "CPU s/1k", ratio_header], rows)


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: the scenario has no latencies
