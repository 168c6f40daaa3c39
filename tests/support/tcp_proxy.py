"""A TCP proxy with faults, in its own thread: put it between one process and Redis to delay, stall
or refuse that process's traffic while every other process talks to Redis directly."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class TcpProxy:
    """``delay``: seconds added before each chunk from the target reaches the client.
    ``stalled``: hold every byte in both directions (a silent network, the connection stays open).
    ``refusing``: close new connections at once (the target is out of reach)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.delay = 0.0
        self.stalled = False
        self.refusing = False
        self.upstream_addrs: list[str] = []  # our side of each connection to the target, as Redis sees it
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        host, port = up_writer.get_extra_info("sockname")[:2]
        self.upstream_addrs.append(f"{host}:{port}")
        await asyncio.gather(self._pump(reader, up_writer, delayed=False),
                             self._pump(up_reader, writer, delayed=True), return_exceptions=True)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, delayed: bool) -> None:
        try:
            while data := await src.read(65536):
                if delayed and self.delay:
                    await asyncio.sleep(self.delay)
                while self.stalled:  # noqa: ASYNC110  # set from the test's thread: an Event is not thread-safe
                    await asyncio.sleep(0.01)
                dst.write(data)
                await dst.drain()
        finally:
            dst.close()

    def close(self) -> None:
        def stop(*_: Any) -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)
