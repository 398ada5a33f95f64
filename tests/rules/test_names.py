import random

import pytest

from tidings.exceptions import InvalidName
from tidings.rules import names


@pytest.mark.parametrize("name", ["a", "chat_room-1.x", "A" * 99, "specific.abc!def", "x!"])
def test_valid_channel_names_pass(name):
    assert names.check_channel_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A" * 100, "sp ace", "a!b!c", "ünï", "tab\t", None, 5, b"bytes", "a/b"]
)
def test_invalid_channel_names_raise_type_error_naming_the_grammar(name):
    with pytest.raises(TypeError, match="ASCII letters") as info:
        names.check_channel_name(name)
    assert isinstance(info.value, InvalidName)


@pytest.mark.parametrize("name", ["g", "G" * 99, "chat_lobby.1-2"])
def test_valid_group_names_pass(name):
    assert names.check_group_name(name) == name


@pytest.mark.parametrize("name", ["", "G" * 100, "a!b", "has space", 3])
def test_invalid_group_names_raise(name):
    with pytest.raises(InvalidName, match="no '!'"):
        names.check_group_name(name)


def test_new_names_do_not_repeat_after_random_seed_reset():
    random.seed(1)
    first = names.new_local_name(names.new_instance_name())
    random.seed(1)
    second = names.new_local_name(names.new_instance_name())
    assert first != second
    assert first.startswith("specific.") and first.count("!") == 1
    assert names.check_channel_name(first) == first


def test_non_local_name_cuts_after_the_bang():
    assert names.non_local_name("specific.abc!def") == "specific.abc!"
    assert names.non_local_name("plain") == "plain"
    assert names.is_process_specific("a!b") and not names.is_process_specific("ab")


def test_prefix_must_be_a_short_plain_name():
    assert names.check_prefix("http.response") == "http.response"
    for bad in ["", "a!b", "x" * 41, None]:
        with pytest.raises(InvalidName):
            names.check_prefix(bad)
