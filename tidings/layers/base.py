"""The channel layer contract, written once.

``BaseChannelLayer`` validates names and messages, encodes once, reports group
sends and keeps the Channels-compatible attributes. A backend subclasses it and
implements the underscore primitives, which move *frames* (``tidings.codec``): a
flat message stays a dict copied once at send, any other travels msgpack-encoded;
the primitives never see a caller's own message object.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, TypedDict, Unpack

from ..codec import Frame, decode, encode
from ..exceptions import ChannelFull, HistoryUnavailable, InvalidName
from ..report import DropLog, GroupSendReport
from ..rules import names
from ..rules.capacity import CapacityRules, CapacitySpec
from ..rules.options import COMMON, resolve
from ..rules.patterns import NameSet, Pattern
from ..rules.positions import Position, parse_position
from ..statistics import Statistics
from ..types import Message

if TYPE_CHECKING:
    from ..sync import SyncLayer

_NAME_CACHE_LIMIT = 50_000


class LayerOptions(TypedDict, total=False):
    """The options every backend takes (see README, "Configuration"); their types,
    bounds and defaults are declared once in ``tidings.rules.options``."""

    expiry: float
    group_expiry: float
    capacity: int
    channel_capacity: CapacitySpec
    max_message_size: int
    drop_warning_interval: float
    presence_groups: Iterable[Pattern]
    history_groups: Iterable[Pattern]
    history_size: int
    history_ttl: float


class BaseChannelLayer(abc.ABC):
    """A channel layer: named channels, groups and broadcast between processes.

    Every method is a coroutine usable from any event loop; ``sync`` offers the
    same methods to synchronous code.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]
    MAX_NAME_LENGTH: ClassVar[int] = 100  # Channels' bound: names are shorter than this.

    def __init__(self, **options: Unpack[LayerOptions]) -> None:
        # Checked against the declared schema here, not only by config.py: Channels
        # builds layers from CHANNEL_LAYERS by calling the class itself.
        values = resolve(COMMON, options, type(self).__name__)
        self.presence_groups = NameSet(values["presence_groups"], "presence_groups")
        self.history_groups = NameSet(values["history_groups"], "history_groups")
        self.history_size: int = values["history_size"]
        self.history_ttl: float = values["history_ttl"]
        self.expiry: float = values["expiry"]
        self.group_expiry: float = values["group_expiry"]
        self.capacity_rules = CapacityRules(values["capacity"], values["channel_capacity"])
        self.capacity = self.capacity_rules.default
        self.channel_capacity = self.capacity_rules.patterns
        self.max_message_size: int = values["max_message_size"]
        self.drops = DropLog(values["drop_warning_interval"])
        self._sync: SyncLayer | None = None
        # Names already checked: the grammar regex costs more than the rest of a receive.
        self._valid_names: set[str] = set()
        self._valid_groups: set[str] = set()

    def _remember(self, channel: str) -> None:
        if len(self._valid_names) > _NAME_CACHE_LIMIT:
            self._valid_names.clear()
        self._valid_names.add(channel)

    # -- the contract --------------------------------------------------------------

    async def send(self, channel: str, message: Message) -> None:
        """Queue ``message`` on ``channel``; raise ``ChannelFull`` if it is at capacity.

        Raises ``InvalidName`` or ``InvalidMessage`` (both ``TypeError``) for bad
        input and ``MessageTooLarge`` over ``max_message_size``; nothing is queued then.
        """
        # The type check first: a list or dict name must not reach the set lookup.
        if type(channel) is not str or channel not in self._valid_names:
            self._remember(names.check_channel_name(channel))
        payload = encode(message, self.max_message_size)
        if not await self._send(channel, payload):
            raise ChannelFull(self._full_reason(channel))

    def _full_reason(self, channel: str) -> str:
        """The ``ChannelFull`` message for ``channel``."""
        return (
            f"Channel {channel!r} holds its capacity of "
            f"{self.capacity_rules.capacity_for(channel)} unread messages; its consumer "
            "is not keeping up (or is gone). Retry later, or raise capacity / channel_capacity."
        )

    async def receive(self, channel: str) -> Message:
        """Wait for the next message on ``channel``. Cancelling loses nothing."""
        # The type check first: a list or dict name must not reach the set lookup.
        if type(channel) is not str or channel not in self._valid_names:
            self._remember(names.check_channel_name(channel))
        return decode(await self._receive(channel))

    async def new_channel(self, prefix: str = "specific") -> str:
        """A new process-specific channel name that only this layer receives on."""
        return await self._new_channel(names.check_prefix(prefix))

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group`` (idempotent; restarts the ``group_expiry`` clock).

        For groups matching ``presence_groups`` a new member is announced to the group
        as ``{"type": "presence.join", "group": ..., "channel": ...}``.
        """
        new = await self._group_add(
            names.check_group_name(group), names.check_channel_name(channel)
        )
        if new is not False and group in self.presence_groups:
            event = {"type": "presence.join", "group": group, "channel": channel}
            await self.group_send(group, event)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; no error if it is not a member.

        For groups matching ``presence_groups`` the rest of the group gets
        ``{"type": "presence.leave", ...}``.
        """
        gone = await self._group_discard(
            names.check_group_name(group), names.check_channel_name(channel)
        )
        if gone is not False and group in self.presence_groups:
            event = {"type": "presence.leave", "group": group, "channel": channel}
            await self.group_send(group, event)

    async def group_channels(self, group: str) -> list[str]:
        """The channels in ``group`` now, across every process.

        Members whose membership expired, or whose process stopped heartbeating (Redis),
        are not listed.
        """
        return await self._group_channels(names.check_group_name(group))

    async def group_history(self, group: str, since: str | None = None) -> list[Message]:
        """The messages sent to ``group`` after position ``since`` (a message's
        ``tidings_position``), oldest first, each with its own position.

        Raises ``HistoryUnavailable`` when they can no longer all be returned (trimmed,
        history lost, or ``group`` matches no ``history_groups``). ``since=None`` returns
        whatever is kept.
        """
        names.check_group_name(group)
        position = None if since is None else parse_position(since)
        if group not in self.history_groups:
            raise HistoryUnavailable(
                group, "it keeps no history; add it to the layer's history_groups"
            )
        return [decode(frame) for frame in await self._group_history(group, position)]

    async def group_size(self, group: str) -> int:
        """How many channels ``group`` holds now (see ``group_channels``)."""
        return len(await self.group_channels(group))

    async def group_send(self, group: str, message: Message) -> GroupSendReport:
        """Send to every current member of ``group``; never raises ``ChannelFull``.

        Members at capacity miss the message: the returned report counts them, the
        layer's ``drops`` counter adds them and a WARNING names the group.
        """
        if type(group) is not str or group not in self._valid_groups:
            self._valid_groups.add(names.check_group_name(group))
            if len(self._valid_groups) > _NAME_CACHE_LIMIT:
                self._valid_groups.clear()
        return await self._group_send(group, encode(message, self.max_message_size))

    async def flush(self) -> None:
        """Remove every message and group, as seen from every process."""
        await self._flush()

    async def close(self) -> None:
        """Release connections and tasks; receives waiting right now raise ``LayerClosed``.

        The layer can be used again afterwards (channels_redis users call
        ``close_pools()`` and go on): the next call opens what it needs; queued
        messages and memberships are kept.
        """
        self.drops.flush()  # drops held back by the warning interval are logged now
        if self._sync is not None:
            self._sync.stop()
            self._sync = None
        await self._close()

    async def close_pools(self) -> None:
        """Alias of ``close()``, the name channels_redis users call."""
        await self.close()

    # -- what a backend implements -------------------------------------------------

    @abc.abstractmethod
    async def _send(self, channel: str, payload: Frame) -> bool:
        """Queue an encoded message; False if the channel is full."""

    @abc.abstractmethod
    async def _receive(self, channel: str) -> Frame:
        """Wait for the next encoded message of ``channel``."""

    @abc.abstractmethod
    async def _new_channel(self, prefix: str) -> str:
        """A fresh process-specific name with ``prefix``."""

    @abc.abstractmethod
    async def _group_add(self, group: str, channel: str) -> bool | None:
        """Add a membership; True if new, False if refreshed, None if unknown."""

    @abc.abstractmethod
    async def _group_discard(self, group: str, channel: str) -> bool | None:
        """Remove a membership; True if there was one, False if not, None if unknown."""

    @abc.abstractmethod
    async def _group_channels(self, group: str) -> list[str]:
        """Live members of ``group`` across processes."""

    @abc.abstractmethod
    async def _group_history(self, group: str, since: Position | None) -> list[Frame]:
        """Stamped frames after ``since``; raise ``HistoryUnavailable`` if incomplete."""

    @abc.abstractmethod
    async def _group_send(self, group: str, payload: Frame) -> GroupSendReport: ...

    @abc.abstractmethod
    async def _flush(self) -> None: ...

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release backend resources; nothing to do by default."""

    async def release_loop(self) -> None:  # noqa: B027 - optional hook
        """Release what belongs to the running event loop, which is about to stop."""

    @abc.abstractmethod
    def statistics(self) -> Statistics:
        """Counters and gauges of this layer in this process."""

    # -- synchronous callers -------------------------------------------------------

    @property
    def sync(self) -> SyncLayer:
        """The same methods for synchronous code, run on one background event loop."""
        if self._sync is None:
            from ..sync import SyncLayer

            self._sync = SyncLayer(self)
        return self._sync

    # -- Channels' BaseChannelLayer helpers, for code that calls them --------------

    def get_capacity(self, channel: str) -> int:
        """The capacity that applies to ``channel``."""
        return self.capacity_rules.capacity_for(channel)

    def match_type_and_length(self, name: object) -> bool:
        """True if ``name`` is a str short enough to be a channel or group name."""
        return isinstance(name, str) and len(name) < self.MAX_NAME_LENGTH

    def require_valid_channel_name(self, name: str, receive: bool = False) -> bool:
        """Raise ``InvalidName`` (a ``TypeError``) unless ``name`` is a valid channel name."""
        names.check_channel_name(name)
        return True

    def require_valid_group_name(self, name: str) -> bool:
        """Raise ``InvalidName`` (a ``TypeError``) unless ``name`` is a valid group name."""
        names.check_group_name(name)
        return True

    def valid_channel_names(self, channel_names: list[str], receive: bool = False) -> bool:
        """Validate a non-empty list of channel names."""
        if not isinstance(channel_names, list) or not channel_names:
            raise InvalidName(
                f"channel names must be given as a non-empty list, got {channel_names!r}."
            )
        for name in channel_names:
            names.check_channel_name(name)
        return True

    def non_local_name(self, name: str) -> str:
        """The part of a process-specific name up to and including ``!``."""
        return names.non_local_name(name)

    channel_name_regex: ClassVar[re.Pattern[str]] = re.compile(r"^[a-zA-Z\d\-_.]+(\![\d\w\-_.]*)?$")
    group_name_regex: ClassVar[re.Pattern[str]] = re.compile(r"^[a-zA-Z\d\-_.]+$")

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} expiry={self.expiry:g} group_expiry="
            f"{self.group_expiry:g} capacity={self.capacity}>"
        )
