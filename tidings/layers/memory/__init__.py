"""The in-memory channel layer (``layer.py``) and the bounded group histories only it
keeps in process (``history.py``; Redis keeps its histories in Redis)."""

from .layer import MemoryChannelLayer

__all__ = ["MemoryChannelLayer"]
