from typing import ClassVar

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


# -- every option declared once, checked at construction (issue 10, defect 2) -------

from tidings import MemoryChannelLayer  # noqa: E402
from tidings.layers.redis import RedisChannelLayer  # noqa: E402


@pytest.mark.parametrize("cls", [MemoryChannelLayer, RedisChannelLayer])
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"capcity": 5}, r"no option 'capcity'; did you mean 'capacity'\?.*valid options"),
        ({"presence_groups": None}, "presence_groups"),
        ({"history_groups": None}, "history_groups"),
        ({"channel_capacity": 5}, "channel_capacity"),
        ({"channel_capacity": {"a*": 0}}, r"channel_capacity\['a\*'\]"),
        ({"presence_groups": [__import__("re").compile(b"room")]}, "bytes"),
        ({"channel_capacity": {__import__("re").compile(b"x"): 2}}, "bytes"),
        ({"expiry": 1e13}, "expiry must be .* at most"),
        ({"group_expiry": float("nan")}, "group_expiry"),
        ({"history_ttl": -1}, "history_ttl"),
        ({"capacity": 10**12}, "capacity must be .* at most"),
        ({"capacity": True}, "capacity"),
        ({"history_size": 10**9}, "history_size"),
        ({"max_message_size": 2**40}, "max_message_size"),
        ({"drop_warning_interval": "10"}, "drop_warning_interval"),
    ],
)
def test_bad_options_raise_configuration_error_at_construction(cls, options, match):
    with pytest.raises(ConfigurationError, match=match):
        cls(**options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"prefix": "app*"}, "prefix"),
        ({"prefix": "app\\"}, "prefix"),
        ({"prefix": "a[b]"}, "prefix"),
        ({"prefix": 2024}, "prefix"),
        ({"prefx": "app"}, "did you mean 'prefix'"),
        ({"timeout": 0}, "timeout"),
        ({"heartbeat_interval": 1e9}, "heartbeat_interval"),
        ({"mailbox_capacity": 0}, "mailbox_capacity"),
        ({"symmetric_encryption_keys": 5}, "symmetric_encryption_keys"),
        ({"symmetric_encryption_keys": "one-key"}, "symmetric_encryption_keys"),
        ({"hosts": [("localhost", "notaport")]}, "port"),
        ({"hosts": [("localhost", 99999)]}, "port"),
        ({"hosts": ["redis://localhost:99999"]}, "port"),
        ({"hosts": ["redis://localhost:notaport"]}, "port"),
        ({"hosts": [{"host": "localhost", "port": "x"}]}, "port"),
        ({"hosts": [{"address": "redis://localhost", "passwrd": "x"}]}, "'passwrd'"),
        ({"hosts": [{"host": "localhost", "sockt_timeout": 1}]}, "'sockt_timeout'"),
    ],
)
def test_bad_redis_options_raise_configuration_error_at_construction(options, match):
    with pytest.raises(ConfigurationError, match=match):
        RedisChannelLayer(**options)


def test_inbox_capacity_is_the_old_name_of_mailbox_capacity():
    """Renamed (a process's stream is its *mailbox*; an *inbox* is one channel's queue):
    the old name still works, as a keyword and in a URL, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match="'mailbox_capacity'"):
        layer = RedisChannelLayer(hosts=["redis://127.0.0.1:1"], inbox_capacity=7)
    assert layer.mailbox_capacity == 7
    with pytest.warns(DeprecationWarning, match="'mailbox_capacity'"):
        layer = config.layer_from_url("redis://127.0.0.1:1/0?inbox_capacity=9")
    assert layer.mailbox_capacity == 9
    assert RedisChannelLayer(hosts=["redis://127.0.0.1:1"]).mailbox_capacity == 10_000
    with pytest.raises(ConfigurationError, match="give only mailbox_capacity"):
        RedisChannelLayer(hosts=["redis://127.0.0.1:1"], mailbox_capacity=5, inbox_capacity=7)
    with pytest.raises(ConfigurationError, match="give only mailbox_capacity"):  # not: last wins
        config.layer_from_url("redis://127.0.0.1:1/0?inbox_capacity=9&mailbox_capacity=3")
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigurationError, match="mailbox"):
        RedisChannelLayer(hosts=["redis://127.0.0.1:1"], inbox_capacity=0)


def test_url_options_are_coerced_by_their_declared_type():
    layer = config.layer_from_url("redis://127.0.0.1:1/0?prefix=2024&capacity=7&expiry=1e3")
    assert (layer.prefix, layer.capacity, layer.expiry) == ("2024", 7, 1000.0)
    for prefix in ("1e3", "nan"):
        assert config.layer_from_url(f"redis://127.0.0.1:1?prefix={prefix}").prefix == prefix
    layer = config.layer_from_url("memory://?history_groups=a.*,b&presence_groups=room")
    assert "a.1" in layer.history_groups and "b" in layer.history_groups
    assert "room" in layer.presence_groups
    with pytest.raises(ConfigurationError, match="capacity"):
        config.layer_from_url("memory://?capacity=many")
    with pytest.raises(ConfigurationError, match="expiry"):
        config.layer_from_url("memory://?expiry=nan")


def test_django_style_config_is_checked_by_the_constructor():
    """Channels builds the layer itself: cls(**CONFIG). The check must be there."""
    from channels.layers import ChannelLayerManager

    class Manager(ChannelLayerManager):
        configs: ClassVar = {  # in place of what Channels reads from settings.CHANNEL_LAYERS
            "default": {"BACKEND": "tidings.MemoryChannelLayer", "CONFIG": {"capcity": 5}}
        }

    manager = Manager()
    with pytest.raises(ConfigurationError, match="did you mean 'capacity'"):
        manager["default"]


DJANGO_WITH_CHANNELS_LAYER = """
import asyncio, django
from django.conf import settings
settings.configure(CHANNEL_LAYERS={
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    "ours": {"BACKEND": "tidings.MemoryChannelLayer"},
})
django.setup()
import tidings
from tidings.config import any_channel_layer
print(type(tidings.get_channel_layer("ours")).__name__)
print(type(any_channel_layer("default")).__name__)  # what consumers run on
try:
    tidings.get_channel_layer("default")
except tidings.ConfigurationError as exc:
    print(exc)
"""


def test_get_channel_layer_returns_a_tidings_layer_or_says_why_not():
    # Typed as BaseChannelLayer, so it must never hand back another library's layer.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", DJANGO_WITH_CHANNELS_LAYER],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ours, theirs, error = result.stdout.strip().splitlines()
    assert (ours, theirs) == ("MemoryChannelLayer", "InMemoryChannelLayer")
    assert "not a tidings layer" in error and "tidings.RedisChannelLayer" in error, error
