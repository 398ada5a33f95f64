import re

import pytest

from tidings.exceptions import ConfigurationError
from tidings.rules.capacity import CapacityRules


def test_default_applies_without_patterns():
    assert CapacityRules(100).capacity_for("anything") == 100


def test_globs_and_regexes_first_match_wins():
    rules = CapacityRules(
        100,
        {"http.request": 200, "tiny.*": 1, re.compile(r"^tiny"): 50, "*": 7},
    )
    assert rules.capacity_for("http.request") == 200
    assert rules.capacity_for("tiny.one") == 1
    assert rules.capacity_for("tinyx") == 50  # the glob needs the dot, the regex does not
    assert rules.capacity_for("other") == 7


def test_glob_matches_the_whole_name():
    rules = CapacityRules(100, {"chat": 3})
    assert rules.capacity_for("chat") == 3
    assert rules.capacity_for("chatroom") == 100


def test_pairs_list_is_accepted_in_order():
    rules = CapacityRules(10, [("a*", 1), ("ab*", 2)])
    assert rules.capacity_for("abc") == 1


@pytest.mark.parametrize("spec", [{"x": 0}, {"x": "5"}, {5: 1}, {"": 3}, [("x",)], {"x": 1.5}])
def test_bad_specs_raise_configuration_error(spec):
    with pytest.raises(ConfigurationError):
        CapacityRules(100, spec)


def test_bad_default_raises():
    with pytest.raises(ValueError, match="capacity must be a whole number"):
        CapacityRules(0)


@pytest.mark.parametrize(
    ("default", "spec"), [(10_000_001, None), (100, {"x": 10_000_001}), (True, None)]
)
def test_rules_check_values_as_the_options_do(default, spec):
    # One validator: the capacity option's bounds (1..10,000,000) hold however the
    # rules are built, not only through a layer's options.
    with pytest.raises(ConfigurationError, match=r"at most 10,000,000|whole number"):
        CapacityRules(default, spec)


def test_cache_stays_bounded():
    rules = CapacityRules(5, {"a*": 1})
    for i in range(20_005):
        rules.capacity_for(f"b{i}")
    assert len(rules._cache) <= 10_000
    assert rules.capacity_for("abc") == 1
