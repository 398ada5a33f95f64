"""``tidings demo``: tidings shown to a newcomer."""
