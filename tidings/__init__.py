"""tidings: channel layers for real-time Python apps, with or without Django Channels.

layer = tidings.MemoryChannelLayer()
await layer.group_add("index", channel)
report = await layer.group_send("index", {"type": "chart.update", "data": [1, 2, 3]})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import get_channel_layer, layer_from_url
from .exceptions import (
    BackendUnavailable,
    ChannelFull,
    ConfigurationError,
    DecryptionFailed,
    HistoryUnavailable,
    InvalidMessage,
    InvalidName,
    InvalidPosition,
    LayerClosed,
    MessageTooLarge,
    MissingDependency,
    NoHandler,
    TidingsError,
)
from .layers.base import BaseChannelLayer, LayerOptions
from .layers.memory import MemoryChannelLayer
from .report import GroupSendReport
from .statistics import Statistics
from .sync import SyncLayer

if TYPE_CHECKING:
    from .layers.redis import RedisChannelLayer

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "BaseChannelLayer",
    "ChannelFull",
    "ConfigurationError",
    "DecryptionFailed",
    "GroupSendReport",
    "HistoryUnavailable",
    "InvalidMessage",
    "InvalidName",
    "InvalidPosition",
    "LayerClosed",
    "LayerOptions",
    "MemoryChannelLayer",
    "MessageTooLarge",
    "MissingDependency",
    "NoHandler",
    "RedisChannelLayer",
    "Statistics",
    "SyncLayer",
    "TidingsError",
    "get_channel_layer",
    "layer_from_url",
]


def __getattr__(name: str) -> Any:
    # The Redis layer needs the optional 'redis' package: import it on first use.
    if name == "RedisChannelLayer":
        from .config import import_backend

        return import_backend("tidings.layers.redis:RedisChannelLayer")
    raise AttributeError(f"module 'tidings' has no attribute {name!r}")
