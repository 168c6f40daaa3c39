"""Answers the HTTP protocol gives by itself, before aiohttp builds a request: the scan.

Every scan of an officer's card is ``GET /mp/v1/verify/{token}`` for a token the verify cache holds,
and it is the one request whose volume follows the public rather than the agencies. On the routed
path aiohttp builds a ``Request``, a task, the middleware and wrapper coroutines and a ``Response``
for it; that machinery, not the scan, was most of its CPU (bench/verify_bench.py). A route that
declares ``fast=Fast(...)`` is answered here instead, from the parsed request head, when the answer
needs no I/O, and it keeps everything the routed path does:

* the same rate limit, charged to the same bucket (the client's address behind trusted proxies),
  and the same 429 when it is spent;
* the same status, headers (``X-Request-Id``, ``Server``, the route's own) and body, byte for byte
  (tests hold the two paths equal);
* the same request metrics (the route's template) and debug log line; the request id is the log
  context while the answer is built.

Anything else is declined and the routed path answers it, in order: a method other than GET, HTTP/1.0,
``Connection: close``, an upgrade, ``Expect``, a body, a path with escapes or more segments, or a
route whose ``prepare`` declines (for the scan: a token the cache does not hold a live view of, so
every miss, forgery and database read stays on the routed path). ``backend.server`` calls
``FastAnswers`` only while its connection is idle, so answers never overtake one another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from time import perf_counter

import orjson
from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import HttpVersion11, RawRequestMessage
from multidict import MultiMapping

from backend.app_keys import RATE_LIMITER, SETTINGS
from backend.errors import RateLimited
from backend.http.middleware import SERVER_NAME, error_body, request_id
from backend.http.routing import PUBLIC, Endpoint
from backend.logging_setup import request_id_var
from backend.metrics import RequestCounter
from backend.proxies import client_address
from backend.services.ratelimit import charger, client_subject

log = logging.getLogger("yangguang.http")

# ``prepare(app, value, query)``: ``value`` is the path's one parameter, ``query`` the parsed query
# string (None without one). It returns None to decline (nothing done, nothing charged) or the
# function that does the route's work and returns the 200's body; it runs after the rate limit.
Prepare = Callable[[web.Application, str, MultiMapping[str] | None], Callable[[], bytes] | None]


@dataclass(frozen=True)
class Fast:
    """A route's answer without aiohttp's request: ``prepare`` as above, ``headers`` its 200's own
    headers (as its routed handler sets them)."""

    prepare: Prepare
    headers: Mapping[str, str]


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


@dataclass
class _Route:
    prefix: str  # the path up to its one parameter, e.g. "/mp/v1/verify/"
    template: str
    prepare: Prepare
    head: bytes  # status line and the route's own headers
    charge: Callable[[str], None]
    observe: Callable[[int, float], None]


_JSON = {"Content-Type": "application/json"}
_ESCAPES = frozenset("%/{}#")  # a value the router would decode, split or not match: declined


class FastAnswers:
    """The app's fast routes; called by the protocol with a parsed request head and the TCP peer's
    address, it returns the whole answer's bytes, or None for the routed path."""

    def __init__(self, app: web.Application, endpoints: list[Endpoint]) -> None:
        self.app = app
        self.answered = 0  # requests answered here (observability, and the tests)
        self._proxies = app[SETTINGS].trusted_proxies
        self._routes: list[_Route] = []
        for ep in endpoints:
            fast: Fast | None = ep.fast
            if fast is None:
                continue
            prefix, _, rest = ep.path.partition("{")
            if ep.method != "GET" or ep.access != PUBLIC or ep.limit is None or ep.limit.exact \
                    or not rest.endswith("}") or "{" in rest or "/" in rest:
                raise ValueError(f"{ep.method} {ep.path}: a fast route is a public, rate-limited GET "
                                 "whose path ends in its one parameter")
            self._routes.append(_Route(
                prefix, ep.path, fast.prepare, _head(200, {**fast.headers}),
                charger(app[RATE_LIMITER], ep.limit, app[SETTINGS]), RequestCounter.bound("GET", ep.path)))
        self.enabled = bool(self._routes)  # False: everything takes the routed path (tests compare the two)

    def __call__(self, message: RawRequestMessage, peer: str | None) -> bytes | None:
        if not self.enabled or message.method != "GET" or message.version != HttpVersion11 or message.should_close \
                or message.upgrade:
            return None
        target, _, query_string = message.path.partition("?")
        for route in self._routes:
            if target.startswith(route.prefix):
                break
        else:
            return None
        value = target[len(route.prefix):]
        headers = message.headers
        if not value or not _ESCAPES.isdisjoint(value) or "Expect" in headers:
            return None
        started = perf_counter()
        work = route.prepare(self.app, value, message.url.query if query_string else None)
        if work is None:
            return None
        rid = request_id(headers.get("X-Request-Id"))
        token = request_id_var.set(rid)
        try:
            client = client_address(peer, headers.getall("X-Forwarded-For", ()), self._proxies) \
                if self._proxies else peer
            try:
                route.charge(client_subject(client))
                status, head, body = 200, route.head, work()
            except RateLimited as exc:
                retry = str(max(1, round(exc.retry_after)))
                status, head = 429, _head(429, {**_JSON, "Retry-After": retry})
                body = orjson.dumps(error_body(exc.code, exc.message, exc.details))
            except Exception:
                log.exception("unhandled error on %s", message.method)
                status, head = 500, _head(500, _JSON)
                body = orjson.dumps(error_body("internal_error", "服务器内部错误，请稍后再试"))
            elapsed = perf_counter() - started
            route.observe(status, elapsed)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %.1fms", message.method, route.template, elapsed * 1000)
        finally:
            request_id_var.reset(token)
        self.answered += 1
        return b"".join((head, b"X-Request-Id: ", rid.encode(), b"\r\nServer: ", _SERVER,
                         b"\r\nContent-Length: ", str(len(body)).encode(), b"\r\nDate: ",
                         rfc822_formatted_time().encode(), b"\r\n\r\n", body))


_SERVER = SERVER_NAME.encode()


def fast_answers(app: web.Application, endpoints: list[Endpoint]) -> FastAnswers | None:
    answers = FastAnswers(app, endpoints)
    return answers if answers.enabled else None


__all__ = ["Fast", "FastAnswers", "Prepare", "fast_answers"]
