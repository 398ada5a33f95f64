"""Moved to ``tidings.routing.paths`` (next to the routers that use it).

Only ``tidings.demo.app`` still imports it from here; the demo's move to Starlette routing
(issue 14, the demo half) drops that import, and this file with it.
"""

from ..routing.paths import PathPattern, compile_path

__all__ = ["PathPattern", "compile_path"]
