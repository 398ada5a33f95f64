r"""Every exception tidings raises on purpose, and the signals consumers raise.

One root for errors, names after the condition::

    TidingsError
    ├── ChannelFull            (also channels.exceptions.ChannelFull when Channels is installed)
    ├── MessageTooLarge        (also ValueError)
    ├── InvalidName            (also TypeError, as Channels raises for bad names)
    ├── InvalidMessage         (also TypeError)
    ├── InvalidPosition        (also ValueError: not an "epoch:offset" history position)
    ├── ConfigurationError     (also ValueError)
    │   └── MissingDependency  (also ImportError)
    ├── NoHandler              (also ValueError)
    ├── HistoryUnavailable     (missed messages can no longer be recovered)
    ├── LayerClosed            (a receive was waiting when the layer was closed)
    ├── DecryptionFailed       (no configured key opens a message)
    └── BackendUnavailable     (also ConnectionError)

Errors from a backend's client library are translated at the boundary into
``BackendUnavailable`` naming the host, never leaked unwrapped.

Consumer signals, raised by your code to steer a consumer (as in Channels)::

    Exception
    ├── StopConsumer           (end the consumer's dispatch loop)
    ├── AcceptConnection       (in connect: accept the WebSocket)
    └── DenyConnection         (in connect: refuse the WebSocket)

They are not ``TidingsError``\s on purpose: they are not errors, and an
``except TidingsError`` meant for a layer failure must not swallow them.
"""

from __future__ import annotations

try:  # Code written for Channels catches channels.exceptions.ChannelFull.
    from channels.exceptions import ChannelFull as _ChannelsChannelFull
except ImportError:  # Channels is optional.

    class _ChannelsChannelFull(Exception):  # type: ignore[no-redef]
        """Stand-in base used when Channels is not installed."""


__all__ = [
    "AcceptConnection",
    "BackendUnavailable",
    "ChannelFull",
    "ConfigurationError",
    "DecryptionFailed",
    "DenyConnection",
    "HistoryUnavailable",
    "InvalidMessage",
    "InvalidName",
    "InvalidPosition",
    "LayerClosed",
    "MessageTooLarge",
    "MissingDependency",
    "NoHandler",
    "StopConsumer",
    "TidingsError",
]

SIGNALS = ("AcceptConnection", "DenyConnection", "StopConsumer")  # not errors: see above


class TidingsError(Exception):
    """Root of every exception tidings raises on purpose."""


class ChannelFull(TidingsError, _ChannelsChannelFull):  # type: ignore[misc]
    """Raised by ``send`` when the channel already holds its capacity of unread messages."""


class MessageTooLarge(TidingsError, ValueError):
    """Raised when an encoded message is larger than the layer's ``max_message_size``."""


class InvalidName(TidingsError, TypeError):
    """Raised when a channel or group name breaks the name grammar."""


class InvalidMessage(TidingsError, TypeError):
    """Raised when a message is not a dict of the value types a layer can carry."""


class InvalidPosition(TidingsError, ValueError):
    """Raised when a history position is not the ``"epoch:offset"`` a message carried."""


class ConfigurationError(TidingsError, ValueError):
    """Raised when a layer is configured with an unknown scheme, option or bad value."""


class MissingDependency(ConfigurationError, ImportError):
    """Raised when a configured feature needs an optional package that is not installed."""


class NoHandler(TidingsError, ValueError):
    """Raised when a consumer receives a message type it has no handler method for."""


class BackendUnavailable(TidingsError, ConnectionError):
    """Raised when the backend (e.g. Redis) cannot be reached within the configured wait."""


class DecryptionFailed(TidingsError):
    """Raised when no configured key opens a message."""


class HistoryUnavailable(TidingsError):
    """Raised when the messages after a position can no longer all be recovered.

    ``reason`` says why: the history was trimmed past it, or lost (its epoch changed),
    or the group keeps no history. Never a partial list presented as complete.
    """

    def __init__(self, group: str, reason: str) -> None:
        super().__init__(f"Cannot recover group {group!r}: {reason}.")
        self.group = group
        self.reason = reason


class LayerClosed(TidingsError):
    """Raised in a ``receive`` that was waiting when its layer was closed.

    The layer itself stays usable: a later call opens what it needs again (as
    channels_redis users expect after ``close_pools()``); messages queued for the
    channel are kept for the next receive.
    """

    def __init__(self, channel: str = "") -> None:
        where = f" on {channel!r}" if channel else ""
        super().__init__(
            f"The layer was closed while this receive{where} was waiting; nothing was "
            "taken from the channel. Receive again to go on using the layer."
        )


class StopConsumer(Exception):
    """Raised by a handler to end the consumer's dispatch loop."""


class AcceptConnection(Exception):
    """Raised in ``connect`` to accept the WebSocket."""


class DenyConnection(Exception):
    """Raised in ``connect`` to refuse the WebSocket."""
