"""No repr, log line or exception ever contains a password, for any host form (fuzzed)."""

from __future__ import annotations

import asyncio
import logging
import re
import string
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tidings
from tidings.exceptions import TidingsError
from tidings.layers.redis import RedisChannelLayer
from tidings.testing import free_port

pytestmark = pytest.mark.timeout(300)

# Passwords are random words joined by the characters that break URL parsing; each word
# is long and random enough never to appear in output by chance, so finding any one of
# them in an output means (part of) the password leaked.
# (minus anything inside the words tidings' own reprs, errors and logs are made of, which
# hypothesis does find: "password", "sentinel", "capacity" in a layer's repr... — every word
# of the package's source, and of redis-py's error texts, is excluded)
VOCABULARY = (
    " ".join(
        word.lower()
        for package in (tidings, redis)
        for source in Path(package.__file__).parent.rglob("*.py")
        for word in re.findall(r"[A-Za-z]+", source.read_text())
    )
    + " localhost"
)
WORDS = st.text(string.ascii_lowercase, min_size=8, max_size=10).filter(
    lambda w: w not in VOCABULARY
)
SEPARATORS = st.sampled_from(["/", "@", ":", "%", "?", "#", "%2F", "[", "]", " ", "", "!"])
PASSWORDS = st.lists(st.tuples(WORDS, SEPARATORS), min_size=1, max_size=4)
DEAD_PORT = free_port()


def host_forms(password: str) -> list[object]:
    url = f"redis://user:{password}@127.0.0.1:{DEAD_PORT}/0"
    return [
        url,
        f"rediss://:{password}@127.0.0.1:{DEAD_PORT}",
        f"redis://:{password}@127.0.0.1:notaport/0",
        f"http://:{password}@127.0.0.1:{DEAD_PORT}",
        (url, DEAD_PORT),
        (f"{password}@127.0.0.1", DEAD_PORT),
        ("127.0.0.1", DEAD_PORT, password),
        ("127.0.0.1", password),
        {"address": url},
        {"address": url, "password": password},
        {"address": (url, DEAD_PORT)},
        {"host": "127.0.0.1", "port": DEAD_PORT, "password": password},
        {"host": "127.0.0.1", "port": DEAD_PORT, "pasword": password},
        {"host": url, "port": DEAD_PORT},
        {"host": "127.0.0.1", "port": password},
        [url, {"host": "127.0.0.1", "password": password}],
        # Sentinel (channels_redis's dict and the URL): master and sentinel passwords
        {"sentinels": [("127.0.0.1", DEAD_PORT)], "master_name": "m", "password": password},
        {
            "sentinels": [("127.0.0.1", DEAD_PORT)],
            "master_name": "m",
            "sentinel_kwargs": {"password": password},
        },
        {"sentinels": [("127.0.0.1", password)], "master_name": "m"},
        {"sentinels": [("127.0.0.1", DEAD_PORT)], "master_name": "m", "pasword": password},
        f"redis+sentinel://user:{password}@127.0.0.1:{DEAD_PORT}/m",
        f"rediss+sentinel://:{password}@127.0.0.1:{DEAD_PORT},127.0.0.1:{DEAD_PORT}/m/0",
        f"redis+sentinel://127.0.0.1:{DEAD_PORT}/m?sentinel_password={password}",
        f"redis+sentinel://:{password}@127.0.0.1:notaport/m",
    ]


def leaked(words: list[str], *texts: str) -> list[str]:
    return [w for w in words for text in texts if w in text]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(parts=PASSWORDS, form=st.integers(0, 23), connect=st.booleans())
def test_no_output_contains_the_password(parts, form, connect, caplog):
    words = [word for word, _ in parts]
    password = "".join(word + sep for word, sep in parts)
    hosts = host_forms(password)[form]
    outputs: list[str] = []
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            layer = RedisChannelLayer(
                hosts=hosts if isinstance(hosts, list) else [hosts], timeout=0.05
            )
        except TidingsError as exc:
            outputs += [str(exc), repr(exc)]
        else:
            outputs += [repr(layer), str(layer.hosts), *(h.label for h in layer.hosts)]
            if connect:  # the errors of a failed connection, too

                async def use() -> None:
                    try:
                        await layer.send("c", {"type": "t"})
                    except TidingsError as exc:
                        outputs.extend([str(exc), repr(exc)])
                    finally:
                        await layer.close()

                asyncio.run(use())
    outputs += [r.getMessage() for r in caplog.records]
    assert not leaked(words, *outputs), outputs


@settings(max_examples=40, deadline=None)
@given(word=WORDS, shape=st.integers(0, 5))
def test_no_error_about_encryption_keys_contains_a_key(word, shape):
    key = word * 4
    value = [key, {key}, (key, 3), key, {"k": key}, [key.encode(), 7]][shape]
    if shape == 3:
        value = key  # one str instead of a list of keys
    try:
        layer = RedisChannelLayer(symmetric_encryption_keys=value)
    except TidingsError as exc:
        assert word not in str(exc) and word not in repr(exc)
    else:
        assert word not in repr(layer)
