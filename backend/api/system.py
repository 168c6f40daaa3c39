"""Health, readiness, the OpenAPI description and a browsable docs page."""

from __future__ import annotations

import asyncio
import html
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from tortoise import connections

from backend.api.openapi import build_openapi
from backend.app_keys import REDIS
from backend.http.middleware import error_body
from backend.http.routing import PUBLIC, Call, RouteTable, json_response

routes = RouteTable()
ENDPOINTS = web.AppKey("endpoints", list)


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
    spec = build_openapi(call.request.app[ENDPOINTS], app_version())
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(op.get('description', '公开'))}</td></tr>"
            )
    page = (
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'><title>阳光执法 接口文档</title>"
        "<style>body{font-family:sans-serif;margin:1rem}td,th{border-bottom:1px solid #ddd;padding:.3rem;"
        "text-align:left}table{border-collapse:collapse}</style>"
        f"<h1>阳光执法 接口文档 <small>{html.escape(spec['info']['version'])}</small></h1>"
        "<p>机器可读版本：<a href='/api/openapi.json'>/api/openapi.json</a>。机构接口使用 "
        "<code>Authorization: Bearer &lt;密钥&gt;</code>；错误统一为 "
        "<code>{\"error\": {\"code\", \"message\"}}</code>。</p>"
        "<table><tr><th>方法</th><th>路径</th><th>说明</th><th>可调用角色</th></tr>"
        + "".join(rows) + "</table></html>"
    )
    return web.Response(text=page, content_type="text/html")
