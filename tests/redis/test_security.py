"""TLS, passwords and ACL users from the URL, payload encryption; secrets never shown."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from tidings import BackendUnavailable, ConfigurationError
from tidings.layers.redis import RedisChannelLayer

from ..servers import RedisServer, free_port

pytestmark = pytest.mark.timeout(60)
SECRET = "s3cr3t-Pa55"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    from .certs import make_certs

    paths = make_certs(tmp_path_factory.mktemp("tls"))
    port = free_port()
    server = RedisServer(
        port,
        [
            "--tls-port",
            str(port),
            "--port",
            "0",
            "--tls-cert-file",
            str(paths["cert"]),
            "--tls-key-file",
            str(paths["key"]),
            "--tls-ca-cert-file",
            str(paths["ca"]),
            "--tls-auth-clients",
            "no",
        ],
    )
    server.scheme = "rediss"
    server.start()
    yield server, paths
    server.stop()


@pytest.fixture(scope="module")
def auth_server():
    server = RedisServer(
        free_port(),
        ["--requirepass", SECRET, "--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"],
    ).start()
    yield server
    server.stop()


async def round_trip(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.group_add("secure", channel)
    await layer.send("secure.queue", {"type": "t", "n": 1})
    assert (await asyncio.wait_for(layer.receive("secure.queue"), 5))["n"] == 1
    assert (await layer.group_send("secure", {"type": "g"})).delivered == 1
    assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "g"
    await layer.flush()
    await layer.close()


async def test_tls_with_a_verified_self_signed_ca(tls_server):
    server, paths = tls_server
    layer = RedisChannelLayer(
        hosts=[{"address": server.url, "ssl_ca_certs": str(paths["ca"])}], prefix="tls"
    )
    assert layer.hosts[0].label.startswith("rediss://127.0.0.1:")
    await round_trip(layer)


async def test_tls_without_trusting_the_ca_fails_clearly(tls_server):
    server, _ = tls_server
    layer = RedisChannelLayer(hosts=[server.url], prefix="tls2", timeout=0.5)
    with pytest.raises(BackendUnavailable, match=r"rediss://127\.0\.0\.1"):
        await layer.send("c", {"type": "t"})
    await layer.close()


async def test_password_and_acl_user_from_the_url(auth_server, caplog):
    port = auth_server.port
    for url in (
        f"redis://:{SECRET}@127.0.0.1:{port}/0",
        f"redis://alice:wonderland@127.0.0.1:{port}/1",
    ):
        layer = RedisChannelLayer(hosts=[url], prefix="auth")
        assert SECRET not in repr(layer) and "wonderland" not in repr(layer)
        await round_trip(layer)


async def test_wrong_password_is_a_clear_error_without_the_password(auth_server, caplog):
    url = f"redis://alice:not-{SECRET}@127.0.0.1:{auth_server.port}/0"
    layer = RedisChannelLayer(hosts=[url], prefix="auth2", timeout=0.5)
    with (
        caplog.at_level(logging.DEBUG, logger="tidings"),
        pytest.raises(BackendUnavailable) as info,
    ):
        await layer.send("c", {"type": "t"})
    text = str(info.value)
    assert "credentials" in text or "auth" in text.lower()
    assert SECRET not in text and SECRET not in repr(layer)
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    await layer.close()


def test_bad_host_config_names_the_problem_without_the_password():
    with pytest.raises(ConfigurationError) as info:
        RedisChannelLayer(hosts=[f"http://user:{SECRET}@example:80"])
    assert SECRET not in str(info.value) and "redis://" in str(info.value)


@pytest.mark.parametrize(
    "hosts",
    [
        ["redis://127.0.0.1:{port}/0"],
        [("127.0.0.1", "{port}")],
        [{"address": "redis://127.0.0.1:{port}"}],
        [{"host": "127.0.0.1", "port": "{port}", "db": 2}],
        "redis://127.0.0.1:{port}",
    ],
)
async def test_every_channels_redis_hosts_form(redis_server, hosts):
    def fill(value):
        if isinstance(value, str):
            text = value.format(port=redis_server.port)
            return int(text) if text.isdigit() else text
        if isinstance(value, tuple):
            return tuple(fill(v) for v in value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    layer = RedisChannelLayer(hosts=fill(hosts), prefix="forms")
    await layer.send("forms.q", {"type": "t"})
    assert (await asyncio.wait_for(layer.receive("forms.q"), 5))["type"] == "t"
    await layer.close()


async def test_encrypted_payloads_rotate_keys_and_never_travel_in_clear(redis_server, caplog):
    old_writer = RedisChannelLayer(
        hosts=[redis_server.url], prefix="enc", symmetric_encryption_keys=["old-key"]
    )
    rotated_reader = RedisChannelLayer(
        hosts=[redis_server.url], prefix="enc", symmetric_encryption_keys=["new-key", "old-key"]
    )
    await old_writer.send("enc.q", {"type": "t", "secret": "plaintext-marker"})
    raw = await aioredis.Redis.from_url(redis_server.url).lrange(
        old_writer.keys.channel("enc.q"), 0, -1
    )
    assert raw and all(b"plaintext-marker" not in entry for entry in raw)
    got = await asyncio.wait_for(rotated_reader.receive("enc.q"), 5)
    assert got["secret"] == "plaintext-marker"
    assert "old-key" not in repr(rotated_reader) and "new-key" not in repr(rotated_reader)

    # A process without the key drops what it cannot open, loudly, and keeps going.
    stranger = RedisChannelLayer(
        hosts=[redis_server.url], prefix="enc", symmetric_encryption_keys=["other"]
    )
    channel = await stranger.new_channel()
    with caplog.at_level(logging.ERROR, logger="tidings"):
        await old_writer.send(channel, {"type": "t", "secret": "x"})
        await rotated_reader.send(channel, {"type": "t"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stranger.receive(channel), 1.0)
    assert any("could not be decrypted" in r.getMessage() for r in caplog.records)
    assert stranger.statistics().dropped == 2
    for layer in (old_writer, rotated_reader, stranger):
        await layer.flush()
        await layer.close()


def test_encryption_config_errors_are_clear():
    with pytest.raises(ConfigurationError, match="non-empty list"):
        RedisChannelLayer(symmetric_encryption_keys="just-a-string")
