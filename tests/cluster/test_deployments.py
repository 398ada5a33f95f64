"""Sentinel and Cluster forms of ``hosts``: parsed without leaking secrets, and clients that
work against the real deployments."""

from __future__ import annotations

import pytest

from tidings.exceptions import ConfigurationError
from tidings.layers.redis.deployments import (
    ClusterHost,
    SentinelHost,
    is_deployment,
    parse_deployment,
)


def test_channels_redis_sentinel_dict_is_taken_as_is():
    host = parse_deployment(
        {
            "sentinels": [("10.0.0.1", 26379), ["10.0.0.2", 26380]],
            "master_name": "mymaster",
            "sentinel_kwargs": {"password": "s3"},
            "db": 2,
            "password": "m4",
            "ssl_cert_reqs": None,
        }
    )
    assert host == SentinelHost(
        (("10.0.0.1", 26379), ("10.0.0.2", 26380)),
        "mymaster",
        {"db": 2, "password": "m4", "ssl_cert_reqs": None},
        {"password": "s3"},
    )


def test_sentinel_url_names_sentinels_master_db_and_both_passwords():
    host = parse_deployment(
        "rediss+sentinel://app:m%404@10.0.0.1,10.0.0.2:26380/mymaster/3?sentinel_password=s3"
    )
    assert host == SentinelHost(
        (("10.0.0.1", 26379), ("10.0.0.2", 26380)),
        "mymaster",
        {"username": "app", "password": "m@4", "db": 3, "ssl": True},
        {"password": "s3", "ssl": True},
    )


def test_cluster_url_lists_seed_nodes():
    host = parse_deployment("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001")
    assert host == ClusterHost((("127.0.0.1", 7000), ("127.0.0.1", 7001)), {"password": "pw"})
    assert parse_deployment("rediss+cluster://h").options == {"ssl": True}
    assert parse_deployment("redis+cluster://h/0").nodes == (("h", 6379),)


@pytest.mark.parametrize(
    "item",
    [
        {"sentinels": [("h", 1)], "master_name": "m", "password": "hunter2"},
        "redis+sentinel://u:hunter2@h:1/m",
        "redis+sentinel://h:1/m?sentinel_password=hunter2",
        "redis+cluster://u:hunter2@h:1",
    ],
)
def test_no_password_in_label_or_repr(item):
    host = parse_deployment(item)
    assert "hunter2" not in repr(host) and "hunter2" not in host.label


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"sentinels": [("h", 1)]}, "master_name"),
        ({"sentinels": "h:26379", "master_name": "m"}, "list of \\(host, port\\)"),
        ({"sentinels": [], "master_name": "m"}, "empty"),
        ({"sentinels": [("h", "26379")], "master_name": "m"}, "\\(host, port\\) tuple"),
        ({"sentinels": [("h", 1)], "master_name": "m", "sentinel_kwargs": "x"}, "sentinel_kwargs"),
        ("redis+sentinel://h:1", "must name the master"),
        ("redis+sentinel://h:1/m/x", "not a number"),
        ("redis+sentinel://h:port/m", "not a number"),
        ("redis+sentinel://h:1/m?timeout=3", "other than sentinel_password"),
        ("redis+cluster://h:1/2", "only db 0"),
        ("redis+cluster://h:1?x=1", "options"),
        ("redis://h:1", "Expected a Sentinel dict"),
        (42, "Expected a Sentinel dict"),
    ],
)
def test_bad_forms_raise_configuration_error_naming_the_fix(item, match):
    with pytest.raises(ConfigurationError, match=match):
        parse_deployment(item)


def test_errors_about_urls_hide_the_password():
    for url in (
        "redis+cluster://u:hunter2@h:1/2",
        "redis+sentinel://h:1/m?sentinel_password=hunter2&x=1",
    ):
        with pytest.raises(ConfigurationError) as caught:
            parse_deployment(url)
        assert "hunter2" not in str(caught.value)


def test_is_deployment_tells_these_forms_from_plain_hosts():
    assert is_deployment({"sentinels": [], "master_name": "m"})
    assert is_deployment("redis+cluster://h:1")
    assert is_deployment("rediss+sentinel://h/m")
    assert not is_deployment("redis://h:1")
    assert not is_deployment({"address": "redis://h:1"})
    assert not is_deployment(("h", 1))


async def test_sentinel_host_client_writes_to_the_master(redis_sentinel):
    host = parse_deployment(
        {"sentinels": redis_sentinel.sentinels, "master_name": "mymaster", "db": 0}
    )
    client = host.client(socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.set("dep:k", "v")
        assert await client.get("dep:k") == b"v"
        assert (await client.info("server"))["tcp_port"] == redis_sentinel.master.port
    finally:
        await client.aclose()


async def test_sentinel_url_client_writes_to_the_master(redis_sentinel):
    port = redis_sentinel.sentinel_port
    client = parse_deployment(f"redis+sentinel://127.0.0.1:{port}/mymaster/1").client()
    try:
        await client.set("dep:u", 1)
        assert (await client.info("server"))["tcp_port"] == redis_sentinel.master.port
        assert (await client.client_info())["db"] == 1
    finally:
        await client.aclose()


async def test_cluster_url_client_reaches_every_master(redis_cluster):
    seeds = ",".join(f"127.0.0.1:{p}" for p in redis_cluster.ports[:2])
    client = parse_deployment(f"redis+cluster://{seeds}").client(socket_connect_timeout=2)
    try:
        for i in range(30):
            await client.set(f"dep:{i}", i)
        assert len({client.get_node_from_key(f"dep:{i}").port for i in range(30)}) == 3
        assert int(await client.get("dep:7")) == 7
    finally:
        await client.aclose()
