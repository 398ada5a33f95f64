"""The Redis (and Valkey) backend: see ``layer.py`` for how messages move."""

from .layer import RedisChannelLayer

__all__ = ["RedisChannelLayer"]
