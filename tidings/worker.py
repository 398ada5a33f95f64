"""``tidings worker``: run consumers on jobs sent to normal channels, like Channels' runworker.

    tidings worker myproject.jobs:application thumbnails emails --url redis://127.0.0.1:6379/0

Each channel gets ``concurrency`` *slots*; a slot is one instance of the app with the
scope ``{"type": "channel", "channel": name}`` (a ``ChannelNameRouter`` picks the consumer),
and its ASGI ``receive`` takes the next job from the channel only when the app asks for
it, that is when the previous job is finished. So a worker never holds more jobs than it
is handling (at most ``concurrency`` per channel) and every other job stays in Redis,
where any worker process can take it; each job goes to exactly one worker.

Stopping (SIGTERM or SIGINT): no slot takes a new job, the jobs in hand finish, waiting
receives are cancelled (the layer puts back a job a cancelled receive had already popped)
and the process exits 0. A second signal (a second or more after the first) exits at
once (status 1), abandoning the jobs in hand. A SIGKILL loses at most one job per slot:
the one it was handling, or one Redis had just handed it. A job whose handler raises is
logged with its traceback; the slot starts a fresh app instance and takes the next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from .exceptions import ConfigurationError, InvalidName
from .rules.names import check_channel_name, is_process_specific
from .types import ASGIApp, Message

logger = logging.getLogger("tidings.worker")
RESTART_DELAY = 1.0  # an app that ends without taking a job is restarted after this
DUPLICATE_SIGNAL_WINDOW = 1.0  # a second signal this soon is the same stop request


class Worker:
    """Runs ``application`` on the jobs of ``channels``, ``concurrency`` at a time per channel.

    ``await run()`` until ``stop()`` (idempotent; the CLI calls it on SIGTERM/SIGINT),
    then returns once every job in hand is finished. ``done``/``failed`` count jobs.
    """

    def __init__(
        self, application: ASGIApp, channels: Sequence[str], layer: Any, concurrency: int = 1
    ) -> None:
        check_setup(channels, concurrency)
        self.application = application
        self.channels = list(dict.fromkeys(channels))
        self.layer = layer
        self.concurrency = concurrency
        self.done = 0
        self.failed = 0
        self._stopping = asyncio.Event()
        self._slots: list[_Slot] = []

    @property
    def in_hand(self) -> int:
        """Jobs taken from the layer and not finished yet."""
        return sum(slot.busy for slot in self._slots)

    def stop(self) -> None:
        """Take no new job; ``run()`` returns once the jobs in hand are finished."""
        if not self._stopping.is_set():
            logger.info("Stopping: finishing %d job(s) in hand, taking no new ones.", self.in_hand)
        self._stopping.set()

    async def run(self) -> None:
        """Handle jobs until ``stop()``; then finish the jobs in hand and return.

        Close the layer afterwards: its ``close()`` puts back any job a cancelled receive
        had already taken from Redis."""
        self._slots = [
            _Slot(self, channel, n) for channel in self.channels for n in range(self.concurrency)
        ]
        tasks = [asyncio.ensure_future(slot.run()) for slot in self._slots]
        try:
            await self._stopping.wait()
            await asyncio.gather(*(slot.parked.wait() for slot in self._slots))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Jobs that cancelled receives had already popped are put back by the
            # layer's close() (the caller closes it after run()).
        logger.info("Stopped: %d job(s) done, %d failed.", self.done, self.failed)


def check_setup(channels: Sequence[str], concurrency: int) -> None:
    """Raise ``InvalidName`` or ``ConfigurationError`` for channels or concurrency a worker
    cannot use."""
    if not channels:
        raise ConfigurationError("tidings worker needs at least one channel name.")
    for name in channels:
        if is_process_specific(check_channel_name(name)):
            raise InvalidName(
                f"Worker channel {name!r} is process-specific (has '!'); workers share "
                "normal channel names such as 'thumbnails'."
            )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be an int >= 1, got {concurrency!r}.")


class _Slot:
    """One app instance on one channel; it takes a job only when the app asks for one."""

    def __init__(self, worker: Worker, channel: str, index: int) -> None:
        self.worker = worker
        self.channel = channel
        self.index = index
        self.busy = False  # a job was taken and is not finished
        self.job_type: object = None
        self.finished = 0  # jobs this slot finished or failed
        self.parked = asyncio.Event()  # stopping, and no job in hand: safe to cancel

    async def run(self) -> None:
        worker = self.worker
        scope = {"type": "channel", "channel": self.channel}
        while not worker._stopping.is_set():
            before = self.finished
            try:
                await worker.application(dict(scope), self.receive, self.send)
            except Exception:
                if self.busy:
                    worker.failed += 1
                    self.finished += 1
                    logger.exception(
                        "Job of type %r on channel %r failed; going on with the next job.",
                        self.job_type,
                        self.channel,
                    )
                else:
                    logger.exception("The app for channel %r failed between jobs.", self.channel)
            else:
                if self.busy:
                    worker.done += 1
                    self.finished += 1
            self.busy = False
            if not worker._stopping.is_set() and before == self.finished:
                # It ended without finishing a job: do not spin on an app that cannot start.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker._stopping.wait(), RESTART_DELAY)
        self.parked.set()

    async def receive(self) -> Message:
        """The app's ASGI ``receive``: the previous job is finished; take the next one."""
        worker = self.worker
        if self.busy:
            self.busy = False
            worker.done += 1
            self.finished += 1
        if worker._stopping.is_set():
            return await self._park()
        getting = asyncio.ensure_future(worker.layer.receive(self.channel))
        stopping = asyncio.ensure_future(worker._stopping.wait())
        try:
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getting.cancel()  # the layer's receive is cancel-safe: the job stays queued
            raise
        finally:
            stopping.cancel()
        if not getting.done():
            getting.cancel()
        try:
            message: Message = await getting
        except asyncio.CancelledError:  # stopped before a job arrived: it stays in Redis
            return await self._park()
        # Taken (even if stop came at the same moment): it is in hand and will be handled.
        self.busy = True
        self.job_type = message.get("type")
        return message

    async def _park(self) -> Message:
        self.parked.set()
        await asyncio.Future()  # until run() cancels the slots
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, message: Message) -> None:
        """A worker app has no client: what it sends is logged and dropped."""
        logger.warning(
            "The app for channel %r sent %r, but a worker has no client to send to.",
            self.channel,
            message.get("type"),
        )


async def serve(worker: Worker) -> int:
    """Run ``worker`` until SIGTERM/SIGINT; 0 after a graceful stop."""
    loop = asyncio.get_running_loop()
    first: float | None = None

    def on_signal(signum: int) -> None:
        nonlocal first
        name = signal.Signals(signum).name
        if first is None:
            first = loop.time()
            logger.info("Got %s.", name)
            worker.stop()
            return
        if loop.time() - first < DUPLICATE_SIGNAL_WINDOW:
            # One stop request from two sources (a terminal's Ctrl-C reaches the whole
            # process group, a supervisor signals too): not a demand to abandon jobs.
            logger.info("Got %s again; still finishing the jobs in hand.", name)
            return
        logger.warning("Second signal: exiting now; %d job(s) in hand abandoned.", worker.in_hand)
        logging.shutdown()
        os._exit(1)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    logger.info(
        "Worker pid %d on %r: channels %s, concurrency %d.",
        os.getpid(),
        worker.layer,
        ", ".join(worker.channels),
        worker.concurrency,
    )
    try:
        await worker.run()
    finally:
        await worker.layer.close()
    return 0


def load(target: str, channels: Sequence[str], url: str | None) -> tuple[ASGIApp, Any]:
    """Import ``module:attr`` with the layer of ``url``; check the app knows ``channels``."""
    if not url:
        raise ConfigurationError(
            "tidings worker takes jobs other processes send, so it needs a shared layer: "
            "give --url redis://HOST:PORT/DB or set TIDINGS_URL."
        )
    if url.split(":", 1)[0].lower() == "memory":
        raise ConfigurationError(
            f"tidings worker cannot use {url!r}: a memory layer lives in one process, so no "
            "other process could send it jobs. Use redis://HOST:PORT/DB."
        )
    # The app's consumers read the layer through get_channel_layer(): the same object.
    os.environ["TIDINGS_URL"] = url
    from .config import get_channel_layer, reset_channel_layers

    reset_channel_layers()
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(
            f"Give the app as MODULE:APP, e.g. jobs:application; got {target!r}."
        )
    if os.getcwd() not in sys.path:  # like uvicorn: the app's module is found from here
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigurationError(
                f"Cannot import {module_name!r} (from {target!r}); run from the directory "
                "that contains it or put it on PYTHONPATH."
            ) from None
        raise
    application = getattr(module, attr, None)
    if application is None:
        raise ConfigurationError(f"Module {module_name!r} has no attribute {attr!r}.")
    known = _channel_names(application)
    unknown = [c for c in channels if known is not None and c not in known]
    if unknown:
        raise ConfigurationError(
            f"The app's ChannelNameRouter has no app for {', '.join(map(repr, unknown))}; "
            f"it knows {', '.join(map(repr, known or ()))}."
        )
    from .config import _django_channel_layers

    if _django_channel_layers() is not None:
        logger.warning(
            "Django settings are configured: the layer is CHANNEL_LAYERS['default'], not "
            "--url/TIDINGS_URL (under Django, Channels' runworker is the usual choice)."
        )
    return application, get_channel_layer()


def _channel_names(application: Any) -> list[str] | None:
    """The names a ChannelNameRouter (possibly under ``ProtocolTypeRouter``) routes."""
    from .routing import ChannelNameRouter, ProtocolTypeRouter

    if isinstance(application, ProtocolTypeRouter):
        application = application.application_mapping.get("channel")
    if isinstance(application, ChannelNameRouter):
        return application.channels
    return None
