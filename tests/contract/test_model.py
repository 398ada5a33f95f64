"""Model-based contract test: random operations on a backend and on ``model.py`` must agree.

Hypothesis drives each backend and the pure reference model with the same random
sequence of sends, receives, group adds/discards/sends, presence, history, flushes,
invalid input and (memory only) clock moves, and fails on the first disagreement in a
received message, a ``group_send`` report, a member list, a history or an exception.

Time: the memory layer runs on a clock the test moves (``MemoryChannelLayer.with_clock``),
so expiry, group expiry and history expiry are checked exactly at their deadlines. The
Redis layer's scripts use the Redis server's clock, which a test cannot move. The Redis
machine therefore runs twice: once with expiries far longer than an example lasts (every
rule but time), and once in real time with 1 s expiries advancing in epochs: nothing
created in an epoch can expire before it ends, and a barrier then sleeps until everything
has expired (see ``barrier``), so no check ever sits near a deadline.

Examples per backend: ``TIDINGS_MODEL_EXAMPLES`` (default 300 for memory, a twentieth of it
for Redis, whose operations cost round trips, and a hundredth for real-time Redis, whose
barriers sleep).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tidings import MemoryChannelLayer

from .model import Config, Model, Rejected, strip_position

pytestmark = pytest.mark.timeout(600)

EXAMPLES = int(os.environ.get("TIDINGS_MODEL_EXAMPLES", "300"))
REAL_TTL, REAL_GUARD = 1.0, 0.4  # seconds: the real-time Redis machine's expiries
GROUPS = ["g0", "g1", "pres", "hist"]
NORMAL_CHANNELS = ["work.a", "work.b"]
_ids = itertools.count()


class Clock:
    """The memory layer's clock: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _deep(depth: int) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "deep"}
    inner = message
    for _ in range(depth - 1):
        inner["x"] = {}
        inner = inner["x"]
    return message


def _self_referencing() -> dict[str, Any]:
    message: dict[str, Any] = {"type": "loop", "items": []}
    message["items"].append(message)
    return message


bad_names = st.sampled_from(["", "a b", "x" * 100, "a!b!c", "ü", None, b"room", 7])
bad_names = bad_names | st.builds(list, st.just(["room"]))
bad_messages = (
    st.sampled_from(["text", None, 3])
    | st.sampled_from(
        [
            {},
            {"data": 1},
            {"type": ""},
            {"type": "_private"},
            {"type": "._dot"},
            {"type": 3},
            {"type": None},
            {"type": b"bytes"},
            {"type": "t", "s": {1, 2}},
            {"type": "t", 1: "int key"},
            {"type": "t", "big": 2**70},
        ]
    ).map(dict)
    | st.builds(_deep, st.integers(33, 200))
    | st.builds(_self_referencing)
)
good_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=5)
    | st.binary(max_size=5)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


class LayerMachine(RuleBasedStateMachine):
    """One backend and the model, side by side."""

    backend = "memory"
    redis_url: str | None = None
    real_time = False  # Redis with short expiries and expire-everything barriers

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        timed = self.backend == "memory"
        long = REAL_TTL if self.real_time else 600.0
        config = Config(
            capacity=3,
            expiry=4.0 if timed else long,
            group_expiry=6.0 if timed else long,
            presence=("pres",),
            history=("hist",),
            history_size=3,
            history_ttl=5.0 if timed else long,
        )
        options: dict[str, Any] = {
            "capacity": config.capacity,
            "expiry": config.expiry,
            "group_expiry": config.group_expiry,
            "presence_groups": ["pres"],
            "history_groups": ["hist"],
            "history_size": config.history_size,
            "history_ttl": config.history_ttl,
        }
        self.clock = Clock()
        if timed:
            self.layer: Any = MemoryChannelLayer.with_clock(self.clock, **options)
        else:
            from tidings.layers.redis import RedisChannelLayer

            prefix = f"model{os.getpid()}x{next(_ids)}"
            self.layer = RedisChannelLayer(hosts=[self.redis_url], prefix=prefix, **options)
        self.model = Model(config)
        specific = [self.run(self.layer.new_channel()) for _ in range(3)]
        self.channels = specific + NORMAL_CHANNELS
        self.serial = itertools.count()
        self.epoch_start = time.monotonic()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def both(self, model_call: Any, layer_call: Any) -> Any:
        """Run the same operation on the model and the backend; they must agree on errors."""
        try:
            expected = model_call()
        except Rejected as rejected:
            with pytest.raises(Exception) as raised:
                self.run(layer_call())
            assert type(raised.value).__name__ == rejected.kind, raised.value
            return None, None
        return expected, self.run(layer_call())

    def teardown(self) -> None:
        try:
            self.run(self.layer.flush())
            self.run(self.layer.close())
        finally:
            # A receive the test timed out may leave its BLPOP running; end it here,
            # as asyncio.run would, instead of destroying it pending.
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(self._wait(pending))
            self.loop.close()

    @staticmethod
    async def _wait(tasks: set[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)

    def message(self, data: Any = None) -> dict[str, Any]:
        message = {"type": "test.message", "n": next(self.serial)}
        if data is not None:
            message["data"] = data
        return message

    # -- rules ---------------------------------------------------------------------

    @rule(index=st.integers(0, 4), data=st.none() | good_values)
    def send(self, index: int, data: Any) -> None:
        channel, message = self.channels[index], self.message(data)
        self.both(
            lambda: self.model.send(channel, message), lambda: self.layer.send(channel, message)
        )

    @rule(index=st.integers(0, 4))
    def receive(self, index: int) -> None:
        channel = self.channels[index]
        expected = self.model.receive(channel)
        if expected is None:
            with pytest.raises(TimeoutError):
                self.run(asyncio.wait_for(self.layer.receive(channel), 0.02))
        else:
            got = self.run(asyncio.wait_for(self.layer.receive(channel), 5))
            assert strip_position(got) == expected

    @rule(group=st.sampled_from(GROUPS), index=st.integers(0, 4))
    def group_add(self, group: str, index: int) -> None:
        channel = self.channels[index]
        self.both(
            lambda: self.model.group_add(group, channel),
            lambda: self.layer.group_add(group, channel),
        )

    @rule(group=st.sampled_from(GROUPS), index=st.integers(0, 4))
    def group_discard(self, group: str, index: int) -> None:
        channel = self.channels[index]
        self.both(
            lambda: self.model.group_discard(group, channel),
            lambda: self.layer.group_discard(group, channel),
        )

    @rule(group=st.sampled_from(GROUPS), data=st.none() | good_values)
    def group_send(self, group: str, data: Any) -> None:
        message = self.message(data)
        expected, report = self.both(
            lambda: self.model.group_send(group, message),
            lambda: self.layer.group_send(group, message),
        )
        got = (report.members, report.delivered, report.dropped)
        assert got == (expected.members, expected.delivered, expected.dropped)

    @rule(group=st.sampled_from(GROUPS))
    def group_channels(self, group: str) -> None:
        got = self.run(self.layer.group_channels(group))
        assert sorted(got) == sorted(self.model.members(group))

    @rule(group=st.sampled_from(GROUPS))
    def group_history(self, group: str) -> None:
        expected, got = self.both(
            lambda: self.model.group_history(group),
            lambda: self.layer.group_history(group),
        )
        if expected is not None:
            assert [strip_position(m) for m in got] == expected

    @rule()
    def flush(self) -> None:
        self.model.flush()
        self.run(self.layer.flush())

    @rule(name=bad_names, message=bad_messages, group=st.booleans(), good_name=st.booleans())
    def invalid_input(self, name: Any, message: Any, group: bool, good_name: bool) -> None:
        if good_name:  # the message alone is at fault
            name = "g0" if group else self.channels[0]
        if group:
            self.both(
                lambda: self.model.group_send(name, message),
                lambda: self.layer.group_send(name, message),
            )
        else:
            self.both(
                lambda: self.model.send(name, message), lambda: self.layer.send(name, message)
            )

    @rule(name=bad_names, group=st.sampled_from(GROUPS))
    def invalid_membership(self, name: Any, group: str) -> None:
        self.both(
            lambda: self.model.group_add(group, name), lambda: self.layer.group_add(group, name)
        )
        self.both(
            lambda: self.model.group_add(name, "work.a"),
            lambda: self.layer.group_add(name, "work.a"),
        )

    @precondition(lambda self: self.backend == "memory")
    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 4.0, 6.0, 8.0]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        self.model.advance(seconds)

    # -- real time on Redis --------------------------------------------------------
    # Redis expires by its own clock, which the test cannot move. So time advances in
    # epochs: within one, nothing created in it may expire (every rule starts less than
    # REAL_TTL - REAL_GUARD after the epoch began, and a rule takes far less than the
    # guard); a barrier then sleeps until everything created so far has expired, and the
    # model moves past every deadline. No outcome is ever near a deadline, so no check
    # has to accept two answers.

    def barrier(self) -> None:
        time.sleep(REAL_TTL + 0.3)
        self.model.advance(2 * REAL_TTL)
        self.epoch_start = time.monotonic()

    @precondition(lambda self: self.real_time)
    @rule()
    def wait_out_every_deadline(self) -> None:
        self.barrier()

    @invariant()
    def epoch_not_over(self) -> None:
        if self.real_time and time.monotonic() - self.epoch_start > REAL_TTL - REAL_GUARD:
            self.barrier()

    @invariant()
    def drops_are_counted(self) -> None:
        assert self.layer.statistics().dropped == self.model.dropped


def _run(
    backend: str,
    examples: int,
    redis_url: str | None = None,
    real_time: bool = False,
    steps: int = 40,
) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    machine = type(
        f"{backend.title()}{'RealTime' if real_time else ''}Machine",
        (LayerMachine,),
        {"backend": backend, "redis_url": redis_url, "real_time": real_time},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


def test_memory_layer_agrees_with_the_model() -> None:
    _run("memory", EXAMPLES)


@pytest.mark.redis
def test_redis_layer_agrees_with_the_model(redis_server: Any) -> None:
    _run("redis", max(1, EXAMPLES // 20), redis_server.url)


@pytest.mark.redis
@pytest.mark.slow
def test_redis_layer_agrees_with_the_model_over_real_time(redis_server: Any) -> None:
    """Expiry, group expiry and history expiry on Redis, with expire-everything barriers."""
    _run("redis", max(1, EXAMPLES // 100), redis_server.url, real_time=True, steps=25)
