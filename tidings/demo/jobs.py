"""``POST /ingest`` as a background job: ``tidings demo --redis URL --job-workers N``.

The HTTP side checks the body (a bad one still gets its 400 at once) and queues
``{"type": "ingest.week", "data": [...] | None}`` on the normal channel ``demo-ingest``;
a ``tidings worker`` process makes the seed's ``random_data()`` when no data was given and
broadcasts the week to every open page, from synchronous code as the seed's view did.
"""

from __future__ import annotations

import json
import os
from typing import Any

from asgiref.sync import async_to_sync

from ..consumers import SyncConsumer
from ..routing import ChannelNameRouter
from .ingest import parse_ingest, random_data

CHANNEL = "demo-ingest"
ENABLED = "TIDINGS_DEMO_JOBS"  # set by `tidings demo --job-workers N` for its server processes


def jobs_enabled() -> bool:
    """True when ``/ingest`` hands its work to worker processes."""
    return os.environ.get(ENABLED) == "1"


def queue_ingest(layer: Any, body: bytes) -> dict[str, Any]:
    """Check the body (``BadIngest``) and queue the job; ``ChannelFull`` if workers lag."""
    data = parse_ingest(body) if body.strip() else None
    layer.sync.send(CHANNEL, {"type": "ingest.week", "data": data})
    return {"queued": CHANNEL, "data": data}


class IngestJobs(SyncConsumer):
    """Runs in ``tidings worker``: the work ``IngestView`` did in the request."""

    def ingest_week(self, event: dict[str, Any]) -> None:
        data = event["data"] if event.get("data") is not None else random_data()
        async_to_sync(self.channel_layer.group_send)(
            "index", {"type": "websocket.ingest", "text": data}
        )
        print(json.dumps({"ingested": data, "pid": os.getpid()}), flush=True)


application = ChannelNameRouter({CHANNEL: IngestJobs.as_asgi()})
