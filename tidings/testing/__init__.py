"""Test helpers: a throwaway ``redis-server`` on a free loopback port.

Test your app against a real Redis, not a fake one (as ``channels.testing`` ships
Channels' test helpers)::

    from tidings.testing import RedisServer

    server = RedisServer().start()          # redis-server on 127.0.0.1:<free port>
    try:
        layer = RedisChannelLayer(hosts=[server.url])
        ...
    finally:
        server.stop()

Needs the ``redis-server`` (or ``valkey-server``) binary on ``PATH``; the server keeps
nothing on disk and listens on 127.0.0.1 only. ``tidings bench`` starts its Redis with it,
and tidings' own test suite too. Importing this module loads no benchmark code.

``start_cluster()`` and ``start_sentinel()`` (``tidings.testing.cluster``) start a whole Redis
Cluster or a master + replica + sentinel the same way, and stop them by pid.
"""

from __future__ import annotations

from .cluster import Cluster, SentinelSet, start_cluster, start_sentinel
from .server import RedisServer, ServerError, free_port, stop_process

__all__ = [
    "Cluster",
    "RedisServer",
    "SentinelSet",
    "ServerError",
    "free_port",
    "start_cluster",
    "start_sentinel",
    "stop_process",
]
