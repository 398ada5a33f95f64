"""The test side of ``traffic.py``: start the processes, let them run, count every message.

``Traffic(url, receivers=2)`` starts receiver processes and one sender process (each
subprocess started here and ended by its pid); ``go()`` starts the sending; ``finish()``
waits for everyone's DONE; ``Tally`` says what was sent, accepted, received, lost and
received twice, and the longest pause in delivery.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tidings.testing.cluster import Cluster

from .traffic import STOP_WITHIN

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One ``python -m tests.cluster.traffic`` process, read line by line."""

    def __init__(self, *args: object) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.traffic", *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def expect(self, tag: str) -> Any:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(10)
                err = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"traffic process ended before {tag}: {err[-4000:]}")
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1 :])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


Delivery = tuple[int, str, int]  # (receiver index, "g" or "d", n)


@dataclass
class Tally:
    """What happened to every message of one run, as deliveries: a group message is due
    at every receiver, a direct one at the receiver it was sent to."""

    sent: int
    due: set[Delivery]  # what accepted sends owe
    maybe: set[Delivery]  # what sends that raised might have delivered
    received: list[Delivery]
    raised: list[list[Any]]
    slowest: float
    gaps: list[float] = field(default_factory=list)
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)  # accepted sends
    logs: dict[str, str] = field(default_factory=dict)  # each process's stderr (tail)

    @property
    def lost(self) -> list[Delivery]:
        return sorted(self.due - set(self.received))

    @property
    def duplicates(self) -> list[Delivery]:
        seen: set[Delivery] = set()
        twice = []
        for key in self.received:
            if key in seen:
                twice.append(key)
            seen.add(key)
        return twice

    @property
    def unsent(self) -> list[Delivery]:
        """Received but never sent (nor tried): must be empty."""
        return sorted(set(self.received) - self.due - self.maybe)

    @property
    def raised_but_arrived(self) -> int:
        """Deliveries of sends that raised (allowed: such a send may or may not arrive)."""
        return len(self.maybe & set(self.received))

    def lost_sent_at(self) -> list[float]:
        """When (seconds after go) the sends behind the lost deliveries were made."""
        return sorted({self.sent_at[(kind, n)] for _, kind, n in self.lost})

    @property
    def longest_gap(self) -> float:
        return max(self.gaps, default=0.0)

    def raised_at(self) -> dict[str, list[float]]:
        """When (seconds after go) the sends that raised were made, by kind ("g", "d")."""
        found: dict[str, list[float]] = {}
        for kind, _, _, _, at in self.raised:
            found.setdefault(kind, []).append(at)
        return found

    def summary(self) -> str:
        kinds = sorted({r[2] for r in self.raised})
        return (
            f"{self.sent} rounds (a group_send and a send each): {len(self.raised)} sends "
            f"raised {kinds} ({self.raised_but_arrived} of their deliveries arrived anyway); "
            f"deliveries due {len(self.due)}, received {len(self.received)}, lost "
            f"{len(self.lost)} {self.lost[:10]}, twice {len(self.duplicates)} "
            f"{self.duplicates[:10]}; longest delivery gap {self.longest_gap:.2f}s; "
            f"slowest send {self.slowest:.2f}s; raised at "
            + ", ".join(
                f"{kind}: {len(ts)} in {min(ts):.2f}-{max(ts):.2f}s"
                for kind, ts in self.raised_at().items()
            )
            + "".join(f"; {text}" for text in self.distinct_errors())
        )

    def distinct_errors(self) -> list[str]:
        """Each distinct error (its first 120 characters), with when it was first seen."""
        first: dict[str, float] = {}
        for _, _, name, text, at in self.raised:
            first.setdefault(f"{name}: ...{text[-260:]}", at)  # the cause is at the end
        return [f"from {at:.2f}s {text}" for text, at in sorted(first.items(), key=lambda x: x[1])]


class Traffic:
    """Receivers in ``receivers`` processes, one sender process, one group, direct sends."""

    def __init__(self, url: str, group: str = "busy", receivers: int = 2, seconds: float = 6,
                 every: float = 0.01, tasks: int = 1) -> None:  # fmt: skip
        self.group = group
        # a receiver gives up after the run, the sender's stops and a margin
        wait = seconds + STOP_WITHIN + 10
        self.receivers = [Process("receive", url, group, wait) for _ in range(receivers)]
        self.sender: Process | None = None
        try:
            self.channels = [p.expect("READY")["channel"] for p in self.receivers]
            self.sender = Process(
                "send", url, group, ",".join(self.channels), seconds, every, tasks
            )
            self.sender.expect("READY")
        except BaseException:
            self.stop()
            raise

    def go(self) -> float:
        """Start sending; the monotonic time it started."""
        assert self.sender is not None and self.sender.process.stdin is not None
        self.sender.process.stdin.write("go\n")
        self.sender.process.stdin.flush()
        return time.monotonic()

    def finish(self) -> Tally:
        assert self.sender is not None
        sent = self.sender.expect("DONE")
        done = [p.expect("DONE") for p in self.receivers]
        self.stop_errors: list[str] = sent["stop_errors"]
        received: list[Delivery] = []
        gaps: list[float] = []
        for i, result in enumerate(done):
            received += [(i, k, n) for k, n, _ in result["got"]]
            times = [at for _, _, at in result["got"]]
            gaps += [b - a for a, b in itertools.pairwise(times)]

        def owed(kind: str, n: int) -> set[Delivery]:
            if kind == "g":
                return {(i, "g", n) for i in range(len(self.receivers))}
            return {(n % len(self.receivers), "d", n)}  # traffic.py's turn order

        due = {d for k, n, _ in sent["ok"] for d in owed(k, n)}
        maybe = {d for k, n, *_ in sent["raised"] for d in owed(k, n)}
        when = {(k, n): at for k, n, at in sent["ok"]}
        for process in [self.sender, *self.receivers]:  # they have printed DONE: ending
            process.process.wait(15)
        logs = {
            name: p.process.stderr.read()[-3000:] if p.process.stderr else ""
            for name, p in [("sender", self.sender)]
            + [(f"receiver {i}", r) for i, r in enumerate(self.receivers)]
        }
        if self.stop_errors:  # the sender never got through again after the fault
            logs["sender"] = "; ".join(self.stop_errors) + "\n" + logs["sender"]
        return Tally(
            sent["sent"], due, maybe, received, sent["raised"], sent["slowest"], gaps, when, logs
        )

    def stop(self) -> None:
        for process in [*self.receivers, *([self.sender] if self.sender else [])]:
            process.stop()


def keys_like(cluster: Cluster, pattern: str) -> dict[str, int]:
    """Every key matching ``pattern`` on the live masters, with its slot."""
    found: dict[str, int] = {}
    for port in cluster.master_ports():
        client = redis.Redis(port=port, decode_responses=True)
        try:
            for key in client.scan_iter(match=pattern, count=1000):
                found[key] = int(client.execute_command("CLUSTER", "KEYSLOT", key))
        finally:
            client.close()
    return found
