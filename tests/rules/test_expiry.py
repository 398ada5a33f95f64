import math

import pytest

from tidings.exceptions import ConfigurationError
from tidings.rules import expiry
from tidings.rules.options import COMMON


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, "60", None, True, 1e13])
def test_bad_seconds_are_rejected(value):
    option = next(o for o in COMMON if o.name == "expiry")
    with pytest.raises(ConfigurationError, match="expiry must be a number of seconds"):
        option.check(value)


def test_sweep_interval_is_bounded_both_ways():
    assert expiry.sweep_interval(60, 86400) == 60
    assert expiry.sweep_interval(0.1, 86400) == 1.0
    assert expiry.sweep_interval(600, 86400) == 60
    assert expiry.sweep_due(0.0, 60.0, 60.0) and not expiry.sweep_due(0.0, 59.0, 60.0)
