"""One row of benchmark results, whatever the scenario."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    cpu_per_1000: float | None = None

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
