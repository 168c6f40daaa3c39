"""Run a fake provider (a real aiohttp server on 127.0.0.1) in its own thread and event loop, so the
sync SDKs -- called from worker threads or from other processes -- can reach it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.servers import free_port


class ThreadedServer:
    def __init__(self, make_app: Callable[[], web.Application], port: int | None = None) -> None:
        self.make_app = make_app
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=f"fake-{self.port}")
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        self.app = self.make_app()
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, backlog=1024).start()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run fn on the server's loop (state lives there) and return its result."""
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def serve_forever(make_app: Callable[[], web.Application], port: int) -> None:
    """Subprocess mode: ``python -m tests.fakes.aliyun --port N``."""
    web.run_app(make_app(), host="127.0.0.1", port=port, print=None, access_log=None, backlog=2048)
