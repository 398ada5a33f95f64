"""A backend module whose optional dependency is missing (used by test_config)."""

import somelib_that_is_not_installed  # noqa: F401
