"""Small adapters between tidings and web frameworks (optional dependencies)."""
