"""A Django + Channels project built from the seeds' code, used by tests/django."""
