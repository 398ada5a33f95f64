"""Payload encryption with key rotation: the first key encrypts, every key decrypts.

Keys are derived as channels_redis derives them (Fernet over SHA-256 of the key), so the
same ``symmetric_encryption_keys`` read what channels_redis wrote and the reverse.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from .exceptions import ConfigurationError, DecryptionFailed, MissingDependency

__all__ = ["DecryptionFailed", "Encryption"]  # DecryptionFailed: its old import path


class Encryption:
    """Encrypts and decrypts payload bytes; never shows its keys."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError:
            raise MissingDependency(
                "symmetric_encryption_keys needs the 'cryptography' package; install it with "
                "pip install 'tidings[crypto]'."
            ) from None
        if isinstance(keys, (str, bytes)) or not keys:
            raise ConfigurationError(
                "symmetric_encryption_keys must be a non-empty list of keys (str or bytes); "
                "the first encrypts, all of them decrypt."
            )
        fernets = []
        for key in keys:
            if not isinstance(key, (str, bytes)) or not key:
                raise ConfigurationError(
                    "each symmetric_encryption_keys entry must be str or bytes."
                )
            raw = key.encode() if isinstance(key, str) else key
            fernets.append(Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest())))
        self._fernet = MultiFernet(fernets)
        self.count = len(fernets)

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, data: bytes) -> bytes:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(data)
        except InvalidToken:
            raise DecryptionFailed(
                "A message could not be decrypted with any of the configured keys; every "
                "process must share symmetric_encryption_keys (keep old keys while rotating)."
            ) from None

    def __repr__(self) -> str:
        return f"<Encryption keys={self.count}>"
