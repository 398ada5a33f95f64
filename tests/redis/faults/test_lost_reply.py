"""A send whose command reached Redis but whose reply was lost with the connection: its
outcome is unknown, so it must not be retried (that could deliver it twice).

(A connection the *server* closes is taken as closed before the command arrived, which is
what a restart, CLIENT KILL or an idle timeout look like, and retried: the one case that
would then duplicate, a server dying between running a command and answering it, is not
told apart by the socket.)"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest
import redis.asyncio as aioredis

from tidings.exceptions import BackendUnavailable
from tidings.layers.redis import RedisChannelLayer


class ReplyCutter:
    """A loopback proxy (asyncio) in front of one server: with ``cut`` set, the next reply
    from the server goes nowhere and that client connection is reset, as a connection
    lost after the command was written looks to the client. New connections forward."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut = False
        self.cuts = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> ReplyCutter:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, replies: bool):
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    if replies and self.cut:
                        self.cut = False
                        self.cuts += 1
                        # the reply goes nowhere and the client's connection is reset (RST,
                        # as a middlebox that lost its state sends)
                        sock = writer.get_extra_info("socket")
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        writer.transport.abort()
                        up_writer.close()
                        return
                    sink.write(data)
                    await sink.drain()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))
        with contextlib.suppress(Exception):
            writer.close()
            up_writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.mark.parametrize("target", ["worker.q", "process"])
async def test_a_send_whose_reply_is_lost_is_not_sent_twice(own_redis, target):
    proxy = await ReplyCutter(own_redis.port).start()
    layer = RedisChannelLayer(hosts=[proxy.url], prefix="fcut", timeout=2.0)
    receiver = RedisChannelLayer(hosts=[own_redis.url], prefix="fcut")
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        channel = "worker.q" if target == "worker.q" else await receiver.new_channel()
        await layer.send(channel, {"type": "t", "i": 0})  # the connection is up
        proxy.cut = True
        with pytest.raises(BackendUnavailable, match="may or may not have been done"):
            await layer.send(channel, {"type": "t", "i": 1})
        assert proxy.cuts == 1
        await layer.send(channel, {"type": "t", "i": 2})  # a new connection works
        got = [(await asyncio.wait_for(receiver.receive(channel), 5))["i"] for _ in range(3)]
        assert got == [0, 1, 2]  # the send ran once: Redis did it, only its reply was lost
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(receiver.receive(channel), 0.5)  # and nothing twice
    finally:
        await layer.close()
        await receiver.flush()
        await receiver.close()
        await client.aclose()
        await proxy.close()
