import pytest

import tidings
from tidings import config
from tidings.exceptions import ConfigurationError, MissingDependency


@pytest.fixture(autouse=True)
def fresh_layers(monkeypatch):
    monkeypatch.setattr(config, "_django_channel_layers", lambda: None)  # no Django here
    config.reset_channel_layers()
    yield
    config.reset_channel_layers()


def test_default_is_one_memory_layer_per_process(monkeypatch):
    monkeypatch.delenv("TIDINGS_URL", raising=False)
    layer = tidings.get_channel_layer()
    assert isinstance(layer, tidings.MemoryChannelLayer)
    assert tidings.get_channel_layer() is layer


def test_url_options_are_parsed(monkeypatch):
    monkeypatch.setenv("TIDINGS_URL", "memory://?capacity=7&expiry=2.5")
    layer = tidings.get_channel_layer()
    assert (layer.capacity, layer.expiry) == (7, 2.5)


def test_unknown_scheme_names_the_choices():
    with pytest.raises(ConfigurationError, match=r"'kafka'.*memory://, redis://"):
        config.layer_from_url("kafka://x")


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigurationError, match=r"no option 'capacty'.*capacity"):
        config.layer_from_url("memory://?capacty=5")


def test_bad_value_is_a_value_error():
    with pytest.raises(ValueError, match="capacity must be a whole number"):
        config.layer_from_url("memory://?capacity=-1")


def test_only_default_alias_without_django(monkeypatch):
    monkeypatch.setattr(config, "_django_channel_layers", lambda: None)
    with pytest.raises(ConfigurationError, match="only 'default'"):
        tidings.get_channel_layer("other")


def test_missing_optional_dependency_says_what_to_install(monkeypatch):
    monkeypatch.setitem(config.BACKENDS, "fake", "tests.fake_backend:Fake")
    with pytest.raises(
        MissingDependency, match=r"pip install 'tidings\[somelib_that_is_not_installed\]'"
    ):
        config.layer_from_url("fake://")
