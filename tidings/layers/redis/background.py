"""Background work of one layer: membership writes, put-backs of cancelled receives.

Every task is kept referenced until it ends and its failure is logged (never an
unretrieved task exception). ``close`` cancels the writes that the next reconcile redoes
anyway, but *finishes* put-backs: a job popped by a cancelled receive must be back in
Redis when ``close()`` returns, or it is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger("tidings.redis")


class Background:
    """The background tasks of one layer, on whatever loops they run."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.keep: set[asyncio.Task[Any]] = set()  # must finish, even at close
        self.awaited: set[asyncio.Future[Any]] = set()  # pops a put-back waits for

    def spawn(self, coro: Coroutine[Any, Any, Any], keep: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` on the running loop; ``keep``: finished (not cancelled) at close."""
        task = asyncio.get_running_loop().create_task(
            coro, name="tidings-putback" if keep else "tidings-background"
        )
        (self.keep if keep else self.tasks).add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self.keep.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The next heartbeat's reconcile writes memberships again; a put-back that
            # failed is said here, so it is never silent.
            logger.warning("tidings background work failed: %s", task.exception())

    async def close(self, within: float) -> None:
        """Cancel the other tasks; wait (at most ``within`` seconds) for the pops whose
        entries must be put back and for the put-backs, on the running loop."""
        for task in list(self.tasks):
            task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            pending = [
                t for t in (*self.awaited, *self.keep) if t.get_loop() is loop and not t.done()
            ]
            left = deadline - loop.time()
            if not pending or left <= 0:
                break
            await asyncio.wait(pending, timeout=left)
            await asyncio.sleep(0)  # a finished pop schedules its put-back in a callback
        if pending:
            logger.warning(
                "tidings closed with %d receive(s) still being put back after %.3gs",
                len(pending),
                within,
            )
