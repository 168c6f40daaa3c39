"""Health, readiness, the OpenAPI description and a browsable docs page."""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from tortoise import connections

from backend.api.docs_page import render_docs
from backend.api.openapi import build_openapi
from backend.app_keys import REDIS
from backend.http.middleware import error_body
from backend.http.routing import PUBLIC, Call, RouteTable, json_response

routes = RouteTable()
ENDPOINTS = web.AppKey("endpoints", list)
# The docs page loads nothing from anywhere: no scripts, fonts, images or CDN.
DOCS_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                                           "base-uri 'none'"}


def app_version() -> str:
    try:
        return version("yangguang")
    except PackageNotFoundError:
        return "0.0.0+source"


@routes.route("GET", "/healthz", access=PUBLIC, summary="进程存活检查", tag="system")
async def healthz(call: Call[None, None]) -> web.Response:
    return json_response({"status": "ok"})


@routes.route("GET", "/readyz", access=PUBLIC, summary="就绪检查：数据库与 Redis 可达", tag="system",
              errors=(503,))
async def readyz(call: Call[None, None]) -> web.Response:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), 3)
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; the reason is in the server log
        checks["database"] = "unreachable"
    redis = call.request.app[REDIS]
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), 3)
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unreachable"
    if all(v == "ok" for v in checks.values()):
        return json_response({"status": "ready", "checks": checks})
    body = error_body("not_ready", "服务依赖不可用", None)
    body["checks"] = checks
    return json_response(body, 503)


@routes.route("GET", "/api/openapi.json", access=PUBLIC, summary="OpenAPI 3 接口描述", tag="system")
async def openapi(call: Call[None, None]) -> web.Response:
    return json_response(build_openapi(call.request.app[ENDPOINTS], app_version()))


@routes.route("GET", "/api/docs", access=PUBLIC, summary="接口文档页面", tag="system",
              produces="text/html")
async def docs(call: Call[None, None]) -> web.Response:
    page = render_docs(build_openapi(call.request.app[ENDPOINTS], app_version()))
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=DOCS_HEADERS)
