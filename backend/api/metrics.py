"""`GET /metrics`: the Prometheus text exposition, never public by default.

On the service's own port it answers only with ``Authorization: Bearer $YANGGUANG_METRICS_TOKEN``
(401 ``metrics_token_required`` / ``metrics_token_invalid`` otherwise); with no token configured it is
404 there, like any path that does not exist. ``YANGGUANG_METRICS_LISTEN`` serves it, without the
token, on a separate address of the operator's choosing (``backend.server``); the token, if also set,
keeps working on the main port.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web

from backend import metrics
from backend.app_keys import CLOCK, SETTINGS
from backend.errors import NotFound, Unauthenticated
from backend.http.middleware import edge, error_body
from backend.http.routing import PUBLIC, Call, RouteTable, json_response
from backend.services import gauges

routes = RouteTable()
log = logging.getLogger("yangguang.metrics")


async def exposition(app: web.Application) -> web.Response:
    try:
        values = await gauges.read(app[CLOCK])
    except Exception as exc:  # the counters still answer; the gauge says the database did not
        log.warning("metrics: database gauges unavailable (%s)", type(exc).__name__)
        values = metrics.Gauges(database_ok=False)
    body = await asyncio.to_thread(metrics.render, values)
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})


@routes.route("GET", "/metrics", access=PUBLIC, tag="system", produces="text/plain", errors=(401, 404),
              summary="Prometheus 监控指标；需 Authorization: Bearer <YANGGUANG_METRICS_TOKEN>，未配置令牌时为 404")
async def metrics_endpoint(call: Call[None, None]) -> web.Response:
    request = call.request
    token = request.app[SETTINGS].metrics_token
    if token is None:
        raise NotFound("未找到该地址")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthenticated("需要监控令牌：Authorization: Bearer <令牌>", code="metrics_token_required")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthenticated("监控令牌不正确", code="metrics_token_invalid")
    return await exposition(request.app)


def listener_app(main: web.Application) -> web.Application:
    """The application of the separate metrics address: ``/metrics`` alone, without a token. It reads
    the database through the main application's ORM, opened in the same process."""
    app = web.Application(middlewares=[edge(main[SETTINGS])])

    async def handler(request: web.Request) -> web.Response:
        return await exposition(main)

    async def other(request: web.Request) -> web.Response:
        return json_response(error_body("not_found", "未找到该地址"), 404)

    app.router.add_get("/metrics", handler)
    app.router.add_route("*", "/{tail:.*}", other)
    return app
