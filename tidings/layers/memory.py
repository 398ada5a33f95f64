"""The in-memory channel layer: the whole contract inside one process.

Needs nothing but this process. Use it for development, tests and single-process
deployments; use ``RedisChannelLayer`` when several processes must talk.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..codec import DEFAULT_MAX_MESSAGE_SIZE, Frame
from ..hub import Hub, Statistics
from ..report import GroupSendReport
from ..rules import names
from ..rules.capacity import CapacitySpec
from ..rules.patterns import Pattern
from .base import BaseChannelLayer


class MemoryChannelLayer(BaseChannelLayer):
    """Channels, groups and broadcast in this process; safe from any loop or thread.

    ``group_send`` to N members costs N appends: no task and no copy per member;
    each receiver decodes its own copy of the message.
    """

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: CapacitySpec = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        drop_warning_interval: float = 10.0,
        presence_groups: Iterable[Pattern] = (),
    ) -> None:
        super().__init__(
            expiry=expiry,
            group_expiry=group_expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            max_message_size=max_message_size,
            drop_warning_interval=drop_warning_interval,
            presence_groups=presence_groups,
        )
        self.hub = Hub(self.capacity_rules, self.expiry, self.group_expiry, self.drops)
        self._receive = self.hub.get  # type: ignore[method-assign]  # skip a frame per receive

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
        members, delivered = self.hub.fan_out(group, payload)
        return GroupSendReport(group, members, delivered, members - delivered)

    async def _flush(self) -> None:
        self.hub.flush()

    def statistics(self) -> Statistics:
        """Counters (sent, received, dropped, expired) and gauges of this layer."""
        return self.hub.statistics()
