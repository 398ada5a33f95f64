"""Name grammar for channels and groups.

Names are ASCII letters, digits, ``-``, ``_`` and ``.``, 1 to 99 characters
(Channels checks ``len(name) < 100``). A channel name may hold one ``!``:
``specific.<instance>!<local>`` is a process-specific channel.
"""

from __future__ import annotations

import re
import secrets

from ..exceptions import InvalidName

MAX_NAME_LENGTH = 99
_GROUP = re.compile(r"[A-Za-z0-9\-_.]{1,99}")
_CHANNEL = re.compile(r"[A-Za-z0-9\-_.]+(?:![A-Za-z0-9\-_.]*)?")
_GRAMMAR = "ASCII letters, digits, '-', '_' or '.', 1 to 99 characters"


def _describe(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def check_group_name(name: object) -> str:
    """Return ``name`` if it is a valid group name; raise ``InvalidName`` otherwise."""
    if type(name) is str and _GROUP.fullmatch(name):
        return name
    raise InvalidName(f"Group name {_describe(name)} is invalid: use {_GRAMMAR} (no '!').")


def check_channel_name(name: object) -> str:
    """Return ``name`` if it is a valid channel name; raise ``InvalidName`` otherwise."""
    if type(name) is str and len(name) <= MAX_NAME_LENGTH and _CHANNEL.fullmatch(name):
        return name
    raise InvalidName(
        f"Channel name {_describe(name)} is invalid: use {_GRAMMAR}, "
        "with at most one '!' for process-specific channels."
    )


def check_prefix(prefix: object) -> str:
    """Validate the prefix given to ``new_channel`` (a channel name without ``!``)."""
    if type(prefix) is str and _GROUP.fullmatch(prefix) and len(prefix) <= 40:
        return prefix
    raise InvalidName(
        f"Channel prefix {_describe(prefix)} is invalid: use ASCII letters, digits, "
        "'-', '_' or '.', 1 to 40 characters (the rest of the name is generated)."
    )


def is_process_specific(name: str) -> bool:
    """True for ``prefix!local`` names, which only the creating process receives on."""
    return "!" in name


def non_local_name(name: str) -> str:
    """The part up to and including ``!`` of a process-specific name; else the whole name."""
    bang = name.find("!")
    return name if bang < 0 else name[: bang + 1]


def new_instance_name(prefix: str = "specific") -> str:
    """A new ``<prefix>.<random>!`` name for one process or layer instance."""
    return f"{check_prefix(prefix)}.{secrets.token_hex(6)}!"


def new_local_name(instance: str) -> str:
    """A new process-specific channel name under ``instance`` (which ends in ``!``)."""
    return instance + secrets.token_hex(8)
