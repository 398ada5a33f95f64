"""rules.pace: whether a mailbox reader's entries come fast enough for holding reads to pay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.rules.pace import SPAN, WORTH_HOLDING, Pace

WINDOW = 0.001


def steady(per_window: float, reads: int = 400, window: float = WINDOW) -> Pace:
    """A reader that reads one entry every 1/per_window windows, ``reads`` times."""
    pace = Pace(window, 0.0)
    for n in range(1, reads + 1):
        pace.add(1, n * window / per_window)
    return pace


@pytest.mark.parametrize("per_window", [0.5, 2.0, 3.0, 5.0, 10.0])
def test_a_steady_stream_reads_its_own_rate(per_window):
    """One entry per read, r reads a window: the pace settles within ~15 % of r (it
    peaks right after a read and dips right before the next)."""
    value = steady(per_window).value
    assert per_window * 0.85 <= value <= per_window * 1.15 + 1 / SPAN, value


def test_holding_pays_from_four_entries_a_window():
    assert not steady(2.0).worth_holding  # 2,000 entries/s with a 1 ms window
    assert not steady(3.0).worth_holding
    assert steady(5.0).worth_holding
    assert steady(10.0).worth_holding


def test_a_burst_within_a_window_is_not_a_stream():
    """Bursts of 8 entries 2 windows apart (4 a window on average, but each read
    brings a burst): the pace sees them for what they average, not for 8 a window."""
    pace = Pace(WINDOW, 0.0)
    for n in range(1, 200):
        pace.add(8, n * 2 * WINDOW)
    assert pace.value < 8 * 0.8


def test_an_idle_reader_forgets_its_pace():
    pace = steady(10.0)
    assert pace.worth_holding
    later = pace.at + 20 * WINDOW  # a read that waited 20 windows for one entry
    pace.add(1, later)
    assert not pace.worth_holding and pace.value < 1


def test_an_empty_read_counts_as_time_passing():
    pace = steady(10.0)
    pace.add(0, pace.at + SPAN * WINDOW)
    assert pace.value < 10.0 / 2


@given(
    st.lists(
        st.tuples(st.integers(0, 512), st.floats(0, 1.0, allow_nan=False)),
        max_size=60,
    )
)
def test_the_pace_never_goes_negative_or_backwards_in_time(reads):
    """Any reads, any gaps (the clock is monotonic, but a zero gap happens): the pace
    stays a finite number >= 0, and a read of nothing never raises it."""
    pace = Pace(WINDOW, 0.0)
    now = 0.0
    for entries, gap in reads:
        now += gap
        before = pace.value
        value = pace.add(entries, now)
        assert 0.0 <= value < float("inf")
        if entries == 0:
            assert value <= before


def test_the_threshold_is_what_the_docs_say():
    assert WORTH_HOLDING == 4.0  # docs/configuration.md: "4 or more per window"
