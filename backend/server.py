"""The HTTP server around the app: slow-client deadlines and aiohttp's own parser errors.

aiohttp's low-level protocol (``RequestHandler``) answers requests it cannot parse (malformed
headers, bad chunked encoding, a bad request line) by itself, in plain text with a ``Server`` header
naming Python's and aiohttp's versions, and logs the exception, which may quote the offending
bytes. ``YangguangRequestHandler.handle_error`` answers those in the API's JSON error shape and logs
one line without any of the request's content.

It also puts deadlines on slow clients (slowloris):

* headers: a request's head must be complete within ``header_timeout`` seconds of the connection's
  opening (first request) or of its first byte (later requests); an idle kept-alive connection is
  left to ``keepalive_timeout``;
* body: a request's body must be complete within ``body_timeout`` seconds of its head, plus
  ``len(chunk) / body_min_rate`` seconds for every chunk that arrives (Apache mod_reqtimeout's
  MinRate), the deadline never more than ``body_timeout`` ahead of now. A long upload that keeps
  coming at ``body_min_rate`` or faster is never cut off; one that trickles slower, or stalls, is
  cut off within ``body_timeout`` of falling behind. A read still waiting at the deadline fails with
  ``BodyTimeout`` (a 408 from the error middleware) and the connection is closed after the answer.

It gives the app's fast answers (backend.http.fast): when the request loop is idle, requests the
app declares answerable without a request object (a cached scan) are answered from
``data_received`` itself, in order with the rest; the loop is woken only for what remains. This
leans on aiohttp's protocol internals (the request queue, the waiter, the keep-alive timer), so
``aiohttp`` is pinned to the minor version it was written against and ``PROTOCOL_FITS`` turns the
fast answers off, with one warning, where those internals are missing.

``AppRunner`` runs an application with this protocol; ``yangguang serve`` uses it.

Metrics across processes: ``prepare_metrics_dir`` runs in ``serve``'s parent before anything imports
prometheus-client and before it forks, so every forked process counts into the same folder
(``PROMETHEUS_MULTIPROC_DIR``) and whichever process answers ``/metrics`` sums them all. The
separate metrics address (``YANGGUANG_METRICS_LISTEN``) is bound in the parent too and inherited
like the service's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web, web_protocol, web_server
from aiohttp.streams import EMPTY_PAYLOAD

from backend.errors import BodyTimeout
from backend.eventloop import run_loop

# Nothing imported here may import prometheus-client (backend.http does, through backend.metrics):
# ``prepare_metrics_dir`` must set its folder first. The JSON error helpers are imported where used.

log = logging.getLogger("yangguang.http")


class UnparsableBody(web.RequestPayloadError, TimeoutError):
    """Set on a request's body when the parser fails inside it. A ``RequestPayloadError`` for the
    handler (the error middleware answers 400); a ``TimeoutError`` for aiohttp's lingering read after
    the answer, which then stops quietly instead of logging an unhandled exception."""


# What the fast answers touch of aiohttp 3.14's RequestHandler (see the module docstring).
_INTERNALS = ("_waiter", "_messages", "_manager", "_keepalive", "_next_keepalive_close_time", "_keepalive_handle",
              "_keepalive_timeout", "_msg_queue_resume_size", "_force_close", "_close")
PROTOCOL_FITS = (all(name in getattr(web_protocol.RequestHandler, "__slots__", ()) for name in _INTERNALS)
                 and all(hasattr(web_protocol.RequestHandler, name)
                         for name in ("_process_keepalive", "_resume_reading_if_drained", "_parser",
                                      "_buffer_paused"))
                 and hasattr(web_protocol, "_ErrInfo"))


class YangguangRequestHandler(web_protocol.RequestHandler):
    """aiohttp's protocol with header/body deadlines and JSON answers to unparsable requests."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    body_min_rate: float = 16 * 1024.0  # bytes per second

    # The app's answers given without a request (backend.http.fast), set per runner; None: none.
    fast_answers: Callable[[Any, str | None], bytes | None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._yg_head_timer: asyncio.TimerHandle | None = None
        self._yg_body_timer: asyncio.TimerHandle | None = None
        self._yg_body_payload: Any = None
        self._yg_body_deadline = 0.0  # loop time; moved on as the body arrives
        peer = transport.get_extra_info("peername")  # as aiohttp's request.remote reads it
        self._yg_peer = None if peer is None else str(peer[0]) if isinstance(peer, list | tuple) else str(peer)
        self._yg_arm_head()  # a new connection's silence counts too

    def data_received(self, data: bytes) -> None:
        fast, waiter = self.fast_answers, self._waiter
        if fast is None or waiter is None or waiter.done() or self._messages:
            self._yg_received(data)
            return
        # The request loop (start) is idle, waiting for a request: parse without waking it, answer
        # what the fast answers take, in order, and wake it only for what is left.
        self._waiter = None
        try:
            self._yg_received(data)
        finally:
            self._waiter = waiter
        self._yg_answer_fast(fast)
        if self._messages and not waiter.done():
            waiter.set_result(None)

    def _yg_answer_fast(self, fast: Callable[[Any, str | None], bytes | None]) -> None:
        messages, transport, answered = self._messages, self.transport, 0
        while messages and transport is not None and not self._force_close and not self._close:
            message, payload = messages[0]
            # A body, a parser error, or a client not reading its answers (the routed path waits
            # for the socket to drain; this one would only buffer): the routed path.
            if payload is not EMPTY_PAYLOAD or isinstance(message, web_protocol._ErrInfo) \
                    or transport.get_write_buffer_size() > FAST_WRITE_BUFFER:
                break
            answer = fast(message, self._yg_peer)
            if answer is None:
                break
            messages.popleft()
            if self._parser is not None:
                self._parser.message_consumed()  # as start() does for each request it takes
            transport.write(answer)
            answered += 1
        if not answered:
            return
        # What start() does after a kept-alive answer: count it, and keep the idle connection's timer.
        assert self._manager is not None
        self._manager.requests_count += answered
        self._keepalive = True
        self._next_keepalive_close_time = self._loop.time() + self._keepalive_timeout
        if self._keepalive_handle is None:
            self._keepalive_handle = self._loop.call_at(self._next_keepalive_close_time, self._process_keepalive)
        if self._buffer_paused and len(messages) <= self._msg_queue_resume_size:
            self._resume_reading_if_drained()

    def _yg_received(self, data: bytes) -> None:
        if self._yg_body_payload is not None:  # a body is arriving: it earns time (MinRate)
            now = self._loop.time()
            self._yg_body_deadline = min(self._yg_body_deadline + len(data) / self.body_min_rate,
                                         now + self.body_timeout)
        before = self._request_count
        super().data_received(data)
        if self._request_count == before:
            if self._yg_head_timer is None and self._current_request is None and not self._messages \
                    and not self._force_close:
                self._yg_arm_head()  # the first bytes of a next request on a kept-alive connection
            return
        # One or more request heads are complete, or the parser failed.
        self._yg_cancel_head()
        message, payload = self._messages[-1] if self._messages else (None, None)
        if isinstance(message, web_protocol._ErrInfo):
            pending = self._yg_body_payload
            if pending is not None and not pending.is_eof() and pending.exception() is None:
                # The body of the request being handled is unparsable (say, a bad chunk): that request
                # fails with a 400 and the connection closes, instead of a second answer to the same bytes.
                self._yg_cancel_body()
                self.close()
                pending.set_exception(UnparsableBody("unparsable request body"))
            return
        if payload is not None and payload is not EMPTY_PAYLOAD and not payload.is_eof():
            self._yg_arm_body(payload)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._yg_cancel_head()
        self._yg_cancel_body()
        super().connection_lost(exc)

    # --- deadlines ---------------------------------------------------------------------------------

    def _yg_arm_head(self) -> None:
        self._yg_head_timer = self._loop.call_later(self.header_timeout, self._yg_head_expired)

    def _yg_cancel_head(self) -> None:
        if self._yg_head_timer is not None:
            self._yg_head_timer.cancel()
            self._yg_head_timer = None

    def _yg_head_expired(self) -> None:
        self._yg_head_timer = None
        if self.transport is None or self._force_close or self._messages or self._current_request is not None:
            return
        log.info("slow client: request headers not complete within %gs, connection closed", self.header_timeout)
        self.force_close()

    def _yg_arm_body(self, payload: Any) -> None:
        self._yg_cancel_body()
        self._yg_body_payload = payload
        self._yg_body_deadline = self._loop.time() + self.body_timeout
        self._yg_body_timer = self._loop.call_at(self._yg_body_deadline, self._yg_body_expired, payload)

    def _yg_cancel_body(self) -> None:
        self._yg_body_payload = None
        if self._yg_body_timer is not None:
            self._yg_body_timer.cancel()
            self._yg_body_timer = None

    def _yg_body_expired(self, payload: Any) -> None:
        self._yg_body_timer = None
        if payload.is_eof() or payload.exception() is not None:
            self._yg_body_payload = None
            return
        if self._yg_body_payload is payload and self._yg_body_deadline > self._loop.time():
            # The body kept arriving: wait until the deadline it has earned (one timer, moved lazily).
            self._yg_body_timer = self._loop.call_at(self._yg_body_deadline, self._yg_body_expired, payload)
            return
        self._yg_body_payload = None
        log.info("slow client: request body below %g bytes/s (or stalled) past the %gs deadline",
                 self.body_min_rate, self.body_timeout)
        self.close()  # no further requests on this connection
        payload.set_exception(BodyTimeout())
        if self._current_request is None and not self._messages:
            self.force_close()

    # --- errors the parser finds before any handler runs -------------------------------------------

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        if status >= 500:
            # Only reached if the error middleware itself failed; its message names the class only.
            log.error("request failed outside the error middleware: %s", type(exc).__name__ if exc else status)
        else:
            # Never the exception's text: it may quote the request's bytes (headers, keys).
            log.info("unparsable request answered %d: %s", status, type(exc).__name__ if exc else "-")
        from backend.http.middleware import SERVER_NAME, error_body, http_error
        from backend.http.routing import json_response

        code, text = http_error(status)
        resp = json_response(error_body(code, text), status, {"Server": SERVER_NAME})
        resp.force_close()
        return resp


# Answers buffered for a client beyond this many bytes: further requests wait on the routed path.
FAST_WRITE_BUFFER = 64 * 1024


class _Server(web_server.Server):
    handler_class: type[YangguangRequestHandler] = YangguangRequestHandler

    def __call__(self) -> web_protocol.RequestHandler:
        return self.handler_class(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are served by ``YangguangRequestHandler``."""

    def __init__(self, app: web.Application, *, header_timeout: float = 10.0, body_timeout: float = 30.0,
                 body_min_rate: float = 16 * 1024.0, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._yg_handler: type[YangguangRequestHandler] = type("Handler", (YangguangRequestHandler,),
                                {"header_timeout": header_timeout, "body_timeout": body_timeout,
                                 "body_min_rate": body_min_rate})

    async def _make_server(self) -> web_server.Server:
        base = await super()._make_server()
        from backend.app_keys import FAST_ANSWERS

        fast = self.app.get(FAST_ANSWERS)
        if fast is not None and not PROTOCOL_FITS:
            log.warning("fast answers off: this aiohttp's protocol is not the one they were written against")
            fast = None
        self._yg_handler.fast_answers = fast
        server = _Server(base.request_handler, request_factory=base.request_factory,
                         handler_cancellation=base.handler_cancellation, loop=base._loop, **base._kwargs)
        server.handler_class = self._yg_handler
        return server


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"[a-z_]+_(\d+)\.db")


def prepare_metrics_dir(workers: int) -> Path | None:
    """Before prometheus-client is imported and before forking: the folder every process counts into.

    Set by the operator (shared with ``yangguang worker``): created 0700 if missing, and the files of
    processes no longer running are removed (their totals restart, which Prometheus's rate() reads as
    a counter reset). Not set and ``workers > 1``: a private temporary folder for this run, returned
    so the caller removes it at exit. One process and no folder: None (counters in memory)."""
    from backend.files import private_dir

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = private_dir(given)
        for path in folder.glob("*.db"):
            m = _PID_FILE.fullmatch(path.name)
            if m is not None and not _alive(int(m.group(1))):
                path.unlink(missing_ok=True)
        return None
    if workers <= 1:
        return None
    folder = Path(tempfile.mkdtemp(prefix="yangguang-metrics-"))  # 0700 by mkdtemp
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def remove_metrics_dir(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(app: web.Application, sock: socket.socket, *, header_timeout: float, body_timeout: float,
        body_min_rate: float = 16 * 1024.0, keepalive_timeout: float = 75.0, shutdown_timeout: float = 30.0,
        uvloop: bool = True, metrics_sock: socket.socket | None = None) -> None:
    """Serve ``app`` on an already bound and listening socket until SIGINT or SIGTERM; with
    ``metrics_sock``, ``/metrics`` alone on that socket too."""
    from backend.metrics import check_mode

    check_mode()

    async def main() -> None:
        runner = AppRunner(app, handle_signals=True, access_log=None, keepalive_timeout=keepalive_timeout,
                           header_timeout=header_timeout, body_timeout=body_timeout,
                           body_min_rate=body_min_rate, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        side: AppRunner | None = None
        try:
            await web.SockSite(runner, sock).start()
            if metrics_sock is not None:
                from backend.api.metrics import listener_app

                side = AppRunner(listener_app(app), access_log=None, header_timeout=header_timeout,
                                 body_timeout=body_timeout, keepalive_timeout=keepalive_timeout,
                                 shutdown_timeout=5.0)
                await side.setup()
                await web.SockSite(side, metrics_sock).start()
            await asyncio.Event().wait()  # until a signal raises GracefulExit
        finally:
            if side is not None:
                await side.cleanup()
            await runner.cleanup()

    with contextlib.suppress(web.GracefulExit, KeyboardInterrupt):
        run_loop(main(), uvloop=uvloop)
