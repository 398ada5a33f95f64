"""RedisChannelLayer on Sentinel: every accepted form reaches the master; a client follows
the master the sentinels name (tested on a real failover); bad forms fail clearly."""

from __future__ import annotations

import asyncio
import time

import pytest

from tidings.config import layer_from_url
from tidings.exceptions import ConfigurationError
from tidings.layers.redis import RedisChannelLayer
from tidings.layers.redis.deployments import SentinelHost
from tidings.layers.redis.sentinel import MasterWatch

from ..cluster_servers import SentinelSet, _ask

pytestmark = pytest.mark.redis


def forms(group: SentinelSet) -> list[object]:
    sentinels = group.sentinels
    name = group.master_name
    port = group.sentinel_port
    return [
        {"sentinels": sentinels, "master_name": name},  # channels_redis's dict alone
        [{"sentinels": sentinels, "master_name": name, "db": 3}],  # a list of them
        [{"sentinels": [list(s) for s in sentinels], "master_name": name, "sentinel_kwargs": {}}],
        [f"redis+sentinel://127.0.0.1:{port}/{name}/2"],
    ]


@pytest.mark.parametrize("form", range(4))
async def test_every_sentinel_form_carries_messages(
    sentinel_deployment: SentinelSet, form: int
) -> None:
    hosts = forms(sentinel_deployment)[form]
    layer = RedisChannelLayer(hosts=hosts, prefix=f"form{form}", timeout=2)
    assert isinstance(layer.hosts[0], SentinelHost)
    try:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "hello"})
        assert await asyncio.wait_for(layer.receive(channel), 3) == {"type": "hello"}
        await layer.send("work", {"type": "job"})
        assert await asyncio.wait_for(layer.receive("work"), 3) == {"type": "job"}
    finally:
        await layer.flush()
        await layer.close()


async def test_tidings_url_names_sentinels_and_keeps_layer_options(
    sentinel_deployment: SentinelSet,
) -> None:
    group = sentinel_deployment
    url = f"redis+sentinel://127.0.0.1:{group.sentinel_port}/{group.master_name}?prefix=viaurl"
    layer = layer_from_url(url)
    assert isinstance(layer, RedisChannelLayer)
    assert layer.prefix == "viaurl"
    assert isinstance(layer.hosts[0], SentinelHost)
    try:
        await layer.send("c", {"type": "x"})
        assert await asyncio.wait_for(layer.receive("c"), 3) == {"type": "x"}
    finally:
        await layer.flush()
        await layer.close()


def test_a_sentinel_password_in_the_url_goes_to_the_sentinels_not_the_layer() -> None:
    layer = layer_from_url("redis+sentinel://:m@127.0.0.1:1/mymaster?sentinel_password=s&prefix=p")
    host = layer.hosts[0]  # type: ignore[attr-defined]
    assert isinstance(host, SentinelHost)
    assert host.sentinel_options == {"password": "s"}
    assert host.options == {"password": "m"}
    assert layer.prefix == "p"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("hosts", "fix"),
    [
        ({"sentinels": [("h", 1)], "master_name": "m", "pasword": "x"}, "did you mean 'password'"),
        ({"sentinels": [("h", 1)]}, "master_name"),
        ({"sentinels": [("h", 1)], "master_name": "m", "sentinel_kwargs": {"x": 1}}, "x"),
        (["redis+cluster://127.0.0.1:7000", "redis://h:1"], "a Cluster shards keys"),
        ("redis+sentinel://h:1/m?other=1", "dict form"),
    ],
)
def test_bad_sentinel_forms_name_the_fix(hosts: object, fix: str) -> None:
    with pytest.raises(ConfigurationError, match=fix):
        RedisChannelLayer(hosts=hosts)


async def test_a_client_follows_the_master_within_a_second_of_the_sentinels(
    redis_sentinel: SentinelSet,
) -> None:
    """Without the watch, redis-py's client keeps writing to the old master (measured:
    ~11 s); with it, writes reach the new master soon after the sentinels name it."""
    group = redis_sentinel
    layer = RedisChannelLayer(
        hosts={"sentinels": group.sentinels, "master_name": group.master_name}, timeout=2
    )
    try:
        await layer.send("k", {"type": "before"})
        old, new = group.master.port, group.replica.port
        _ask(group.sentinel_port, "SENTINEL", "FAILOVER", group.master_name)
        started = time.monotonic()
        while group.current_master_port() != new:
            assert time.monotonic() - started < 10, "the sentinels never named the replica"
            await asyncio.sleep(0.05)
        named = time.monotonic()
        i = 0
        while True:  # each send on the new master lands in its list; on the old, not
            i += 1
            await layer.send("k", {"type": "after", "i": i})
            if int(_ask(new, "LLEN", layer.keys.channel("k"))) > 1:
                break
            assert time.monotonic() - named < 3, "writes still go to the old master"
            await asyncio.sleep(0.02)
        followed = time.monotonic() - named
        print(f"\nwrites reached the new master {followed:.2f}s after the sentinels named it")
        assert _ask(old, "ROLE").startswith("master"), "the old master was already demoted"
        watches = list(layer.connections._watches.values())
        assert sum(w.moves for w in watches) == 1
    finally:
        await layer.flush()
        await layer.close()


async def test_a_watch_that_cannot_reach_the_sentinels_stays_put(
    redis_sentinel: SentinelSet, caplog: pytest.LogCaptureFixture
) -> None:
    group = redis_sentinel
    layer = RedisChannelLayer(
        hosts={"sentinels": group.sentinels, "master_name": group.master_name}, timeout=2
    )
    try:
        await layer.send("k", {"type": "x"})
        client = layer.connections.client(0)
        assert group.process is not None
        group.process.terminate()  # the sentinel goes away; the master stays
        group.process.wait(5)
        watch = MasterWatch("sentinel-test")
        assert await watch.check(client) is False
        assert "cannot ask the sentinels" in caplog.text
        await layer.send("k", {"type": "y"})  # the master still serves
        assert await asyncio.wait_for(layer.receive("k"), 3) == {"type": "x"}
    finally:
        await layer.close()
