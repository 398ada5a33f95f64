"""One row of benchmark results, whatever the scenario."""

from __future__ import annotations

import statistics
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
    spread: tuple[float, float] | None = None  # lowest and highest rate of several runs

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


def combine(runs: list[Outcome]) -> Outcome:
    """One row for several runs of one measurement: the median rate (and the sending
    process's median CPU), every run's latencies, deliveries and losses added up."""
    first = runs[0]
    if len(runs) == 1:
        return first
    rates = sorted(o.rate for o in runs)
    cpus = [o.cpu_per_1000 for o in runs if o.cpu_per_1000 is not None]
    return Outcome(
        first.scenario,
        first.layer,
        first.size,
        statistics.median(rates),
        first.unit,
        sum(o.expected for o in runs),
        sum(o.received for o in runs),
        sum(o.duplicates for o in runs),
        [x for o in runs for x in o.latencies],
        any(o.timed_out for o in runs),
        first.note,
        statistics.median(cpus) if cpus else None,
        [x for o in runs for x in o.receivers_cpu],
        first.paced,
        (rates[0], rates[-1]),
    )


def outcome_table(
    outcomes: list[Outcome],
    ratio: Callable[[Outcome], str],
    who: str = "layer",
    ratio_header: str = "tidings is",
) -> str:
    """One row per measurement; ``ratio`` gives the last column of a row. Rows that
    combine several runs show their rates' range after the (median) rate."""
    ranges = any(o.spread for o in outcomes)
    rows = [
        [
            o.scenario,
            o.size,
            o.layer,
            o.rate,
            *([_range(o.spread)] if ranges else []),
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
    rate = ["median rate", "range"] if ranges else ["rate"]
    headers = ["scenario", "size", who, *rate, "unit", "p50 ms", "p99 ms", "received"]
    return table([*headers, "dup", "check", "CPU s/1k", ratio_header], rows)


def _range(spread: tuple[float, float] | None) -> str:
    return "-" if spread is None else f"{spread[0]:,.0f}-{spread[1]:,.0f}"


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: the scenario has no latencies
