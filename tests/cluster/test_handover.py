"""Handover.fresh: repeats are skipped only right after a move; memory stays bounded."""

from __future__ import annotations

import pytest

from tidings.layers.redis import sentinel
from tidings.layers.redis.sentinel import Handover


def handover() -> Handover:
    return Handover("sentinel://h:1/m/0", "asgi:inbox:x", {})


def test_equal_entries_are_two_messages_outside_a_failover() -> None:
    h = handover()
    assert h.fresh([b"a", b"a"]) == [b"a", b"a"]
    assert h.fresh([b"a"]) == [b"a"]
    assert h.repeats == 0


async def test_after_a_move_an_entry_delivered_lately_is_skipped_once_more_seen() -> None:
    h = handover()
    assert h.fresh([b"x1", b"x2"]) == [b"x1", b"x2"]  # popped from the old master
    drain = h.moved(("127.0.0.1", 1), lambda entries: None)
    assert drain is not None
    drain.close()  # not run: only the skipping is tested here
    assert h.fresh([b"x1", b"x2", b"z"]) == [b"z"]  # the new master had them too
    assert h.fresh([b"y"]) == [b"y"]
    assert h.repeats == 2


def test_digests_are_bounded_in_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentinel, "REMEMBER_AT_MOST", 100)
    h = handover()
    for i in range(1000):
        h.fresh([str(i).encode()])
    assert len(h._seen) <= 101
