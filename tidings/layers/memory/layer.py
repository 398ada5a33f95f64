"""The in-memory channel layer: the whole contract inside one process.

Needs nothing but this process. Use it for development, tests and single-process
deployments; use ``RedisChannelLayer`` when several processes must talk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from ...codec import Frame, with_position
from ...exceptions import HistoryUnavailable, LayerClosed
from ...hub import Hub
from ...report import GroupSendReport
from ...rules import names
from ...rules.positions import POSITION_KEY, Position
from ...statistics import Statistics
from ..base import BaseChannelLayer, LayerOptions
from .history import Histories


class MemoryChannelLayer(BaseChannelLayer):
    """Channels, groups and broadcast in this process; safe from any loop or thread.

    ``group_send`` to N members costs N appends: no task and no copy per member;
    each receiver decodes its own copy of the message.
    """

    def __init__(self, **options: Unpack[LayerOptions]) -> None:
        super().__init__(**options)
        self.hub = Hub(self.capacity_rules, self.expiry, self.group_expiry, self.drops)
        self.histories = Histories(self.history_size, self.history_ttl, self.hub.clock)

    @classmethod
    def with_clock(
        cls, clock: Callable[[], float], **options: Unpack[LayerOptions]
    ) -> MemoryChannelLayer:
        """A layer whose expiries follow ``clock`` (monotonic seconds), for tests that
        move time by hand instead of sleeping."""
        layer = cls(**options)
        layer.hub = Hub(layer.capacity_rules, layer.expiry, layer.group_expiry, layer.drops, clock)
        layer.histories = Histories(layer.history_size, layer.history_ttl, clock)
        return layer

    async def _send(self, channel: str, payload: Frame) -> bool:
        return self.hub.put(channel, payload)

    async def _receive(self, channel: str) -> Frame:
        return await self.hub.get(channel)

    async def _new_channel(self, prefix: str) -> str:
        return names.new_local_name(names.new_instance_name(prefix))

    async def _group_add(self, group: str, channel: str) -> bool:
        return self.hub.group_add(group, channel)

    async def _group_discard(self, group: str, channel: str) -> bool:
        return self.hub.group_discard(group, channel)

    async def _group_channels(self, group: str) -> list[str]:
        return self.hub.group_members(group)

    async def _group_send(self, group: str, payload: Frame) -> GroupSendReport:
        if self.histories:  # a heap peek unless some history is due to be freed
            with self.hub.lock:
                self.histories.expire()
        if group in self.history_groups:
            with self.hub.lock:
                history = self.histories.open(group)
                payload = with_position(payload, POSITION_KEY, str(history.next_position()))
                history.append(payload)
        members, delivered = self.hub.fan_out(group, payload)
        return GroupSendReport(group, members, delivered, members - delivered)

    async def _group_history(self, group: str, since: Position | None) -> list[Frame]:
        with self.hub.lock:
            history = self.histories.get(group)
            if history is None:
                if since is None:
                    return []
                raise HistoryUnavailable(group, "no history exists for it (lost, or never sent)")
            if since is None:
                return history.kept()
            found, problem = history.since(since)
        if problem:
            raise HistoryUnavailable(group, problem)
        return [frame for _, frame in found]

    async def _flush(self) -> None:
        with self.hub.lock:
            self.histories.clear()  # the next message starts a new epoch
        self.hub.flush()

    async def _close(self) -> None:
        self.hub.close(LayerClosed)

    def statistics(self) -> Statistics:
        """Counters (sent, received, dropped, expired) and gauges of this layer."""
        return self.hub.statistics()
