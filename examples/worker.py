"""A background job queue: thumbnails made by ``tidings worker`` processes.

Start Redis, then one or more workers (each job runs in exactly one of them):

    cd examples
    export TIDINGS_URL=redis://127.0.0.1:6379/0
    tidings worker worker:application thumbnails emails --concurrency 4

and queue jobs from any synchronous code (a view, a script, a cron job), here from another
terminal with the same TIDINGS_URL:

    python worker.py 10

SIGTERM or Ctrl-C stops a worker gracefully: it finishes the jobs in hand and leaves
the rest in Redis for the other workers.
"""

import asyncio
import sys

from tidings import get_channel_layer
from tidings.consumers import AsyncConsumer, SyncConsumer
from tidings.routing import ChannelNameRouter


class ThumbnailConsumer(SyncConsumer):
    """Plain functions, run in a thread: fine for blocking work (PIL, files, HTTP)."""

    def thumbnail_make(self, event):  # {"type": "thumbnail.make", ...}
        print(f"thumbnail of {event['path']} at {event['size']}px")
        # A job can broadcast its result, e.g. to a user's notifications group:
        # async_to_sync(self.channel_layer.group_send)(f"notifications_{event['user']}", {...})


class EmailConsumer(AsyncConsumer):
    """Coroutines: fine for I/O-bound jobs."""

    async def email_send(self, event):
        await asyncio.sleep(0.1)  # talk to an SMTP server here
        print(f"mail to {event['to']}")


application = ChannelNameRouter(
    {"thumbnails": ThumbnailConsumer.as_asgi(), "emails": EmailConsumer.as_asgi()}
)

if __name__ == "__main__":
    layer = get_channel_layer()
    for n in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        layer.sync.send(
            "thumbnails", {"type": "thumbnail.make", "path": f"/img/{n}.jpg", "size": 128}
        )
    layer.sync.send("emails", {"type": "email.send", "to": "alice@example.com"})
    print("queued")
