import pytest

from tidings.exceptions import InvalidPosition
from tidings.rules.positions import Position, parse_position, resume_problem


def test_positions_round_trip():
    assert parse_position("ab12:42") == Position("ab12", 42)
    assert str(Position("ab12", 42)) == "ab12:42"


@pytest.mark.parametrize("text", ["", "42", "ab:", ":3", "ab:x", None, 5])
def test_bad_positions_say_what_they_look_like(text):
    with pytest.raises(InvalidPosition, match="positions look like") as caught:
        parse_position(text)
    assert isinstance(caught.value, ValueError)  # what it raised before it had a name


@pytest.mark.parametrize(
    ("since", "epoch", "first", "last", "problem"),
    [
        (Position("e", 3), "e", 1, 5, None),
        (Position("e", 5), "e", 1, 5, None),  # nothing missed
        (Position("e", 3), "e", 4, 5, None),  # exactly the next one is kept
        (Position("e", 2), "e", 4, 5, "trimmed"),
        (Position("e", 1), "f", 1, 5, "epoch changed"),
        (Position("e", 1), None, 1, 0, "epoch changed"),
        (Position("e", 9), "e", 1, 5, "ahead"),
        (Position("e", 5), "e", 6, 5, None),  # all expired, but none were missed
        (Position("e", 4), "e", 6, 5, "trimmed"),
    ],
)
def test_resume_rule(since, epoch, first, last, problem):
    found = resume_problem(since, epoch, first, last)
    assert (found is None) if problem is None else (problem in found)
