"""The app factory: settings in, a ready web.Application out. No I/O at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from backend.api import (
    audit,
    cases,
    complaints,
    credentials,
    decisions,
    evidence,
    keys,
    metrics,
    officers,
    open311,
    records,
    registers,
    reviews,
    statistics,
    supervision,
    system,
    transparency,
)
from backend.api.auth import authenticate
from backend.app_keys import CLOCK, FAST_ANSWERS, RATE_LIMITER, REDIS, SCHEDULER, SETTINGS, VERIFIER
from backend.clock import Clock
from backend.db import init_orm
from backend.http.fast import fast_answers
from backend.http.middleware import edge
from backend.http.routing import RouteTable, install
from backend.logging_setup import install_request_id_factory
from backend.outbox import get_outbox, outbox_ctx
from backend.periodic import PERIODIC_JOBS, EmbeddedScheduler, JobContext
from backend.services.ratelimit import Limiter, RedisLimiter
from backend.settings import Settings
from miniprogram_api import subscriptions as mp_subscriptions
from miniprogram_api import wechat_login, wechat_push
from miniprogram_api.handlers import catalogue as public_catalogue
from miniprogram_api.handlers import complaints as public_complaints
from miniprogram_api.handlers import decisions as public_decisions
from miniprogram_api.handlers import parties as mp_parties
from miniprogram_api.handlers import registers as public_registers
from miniprogram_api.handlers import statistics as public_statistics
from miniprogram_api.handlers.public import routes as public_routes
from miniprogram_api.session_auth import authenticate_party
from notifications.deps import build_deps

# Route tables of every package, in one list: the OpenAPI description and the access meta-test
# both read it. Later packages add theirs here.
ROUTE_TABLES: list[RouteTable] = [system.routes, keys.routes, audit.routes, officers.routes, credentials.routes,
                                   public_routes, cases.routes, decisions.routes, records.routes, evidence.routes,
                                   reviews.routes, mp_subscriptions.routes, public_decisions.routes,
                                   public_catalogue.routes, transparency.routes, metrics.routes, complaints.routes,
                                   public_complaints.routes, mp_parties.routes, supervision.routes, registers.routes,
                                   public_registers.routes, statistics.routes, public_statistics.routes,
                                   open311.routes, wechat_push.routes]


def create_app(settings: Settings, *, clock: Clock | None = None,
               extra_cleanup: list[Callable[[web.Application], AsyncIterator[None]]] | None = None
               ) -> web.Application:
    install_request_id_factory()
    app = web.Application(middlewares=[edge(settings)], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[REDIS] = None
    app[RATE_LIMITER] = Limiter()
    app.cleanup_ctx.append(_orm)
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(outbox_ctx)  # notification hand-over; the in-process worker without Redis
    app.cleanup_ctx.append(credentials.credentials_ctx)  # after _redis: shares its pool
    app.cleanup_ctx.append(wechat_login.wechat_ctx)
    app.cleanup_ctx.append(_periodic)  # after the outbox and the verifier: its jobs use both
    for ctx in extra_cleanup or []:
        app.cleanup_ctx.append(ctx)
    endpoints = []
    for table in ROUTE_TABLES:
        install(app, table, authenticate, authenticate_party)
        endpoints.extend(table.endpoints)
    app[system.ENDPOINTS] = endpoints
    app[FAST_ANSWERS] = fast_answers(app, endpoints)
    return app


async def _orm(app: web.Application) -> AsyncIterator[None]:
    ctx = await init_orm(app[SETTINGS])
    yield
    # Close through the context object: under test runners the contextvar may be gone by now.
    await ctx.close_connections()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    if not url:
        yield
        return
    from arq.connections import ArqRedis

    pool = ArqRedis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    app[REDIS] = pool
    app[RATE_LIMITER].shared = RedisLimiter(pool)
    yield
    await pool.aclose()


async def _periodic(app: web.Application) -> AsyncIterator[None]:
    """Without Redis the server runs the periodic-job table itself; with Redis the arq worker does."""
    if app[REDIS] is not None:
        yield
        return
    local = get_outbox(app).local
    deps = local.deps if local is not None else build_deps(app[SETTINGS], app[CLOCK])
    jobs = [job for job in PERIODIC_JOBS if local is not None or not job.notifications]
    scheduler = app[SCHEDULER] = EmbeddedScheduler(jobs, JobContext(deps=deps, cache=app[VERIFIER].cache))
    scheduler.start()
    yield
    await scheduler.stop()
    if local is None and deps.executor is not None:
        deps.executor.shutdown(wait=False)
