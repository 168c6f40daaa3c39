"""Request ids and the one place where failures become JSON errors."""

from __future__ import annotations

import asyncio
import html
import logging
from random import getrandbits
from time import perf_counter

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware

from backend.errors import DomainError, RateLimited
from backend.http.routing import ERRORS_ATTR, PAGE_ATTR, json_response
from backend.logging_setup import request_id_var
from backend.metrics import RequestCounter
from backend.proxies import client_address
from backend.settings import Settings

log = logging.getLogger("yangguang.http")

# The Server header of every answer: no product versions.
SERVER_NAME = "yangguang"

# aiohttp's own HTTP errors (routing, body size, its request parser) mapped to stable codes and
# Chinese messages.
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式错误"),
    404: ("not_found", "未找到该地址"),
    405: ("method_not_allowed", "该地址不支持此请求方法"),
    408: ("request_timeout", "请求发送超时"),
    413: ("body_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的请求体类型"),
    431: ("headers_too_large", "请求头过大"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    501: ("not_implemented", "不支持此请求"),
    504: ("timeout", "处理超时，请稍后再试"),
}


def http_error(status: int) -> tuple[str, str]:
    """The stable code and Chinese message for an HTTP status aiohttp produces by itself."""
    return _HTTP_ERRORS.get(status, ("http_error", "请求无法处理"))


def error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    err: dict[str, object] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return {"error": err}


# Titles of the HTML error pages a browser gets on an HTML route.
_PAGE_TITLES = {404: "未找到", 429: "访问过于频繁", 413: "提交内容过大"}
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# Paths of the public HTML pages: a browser asking for one that does not exist (a malformed id the
# router never matched) still gets a page, not JSON.
PAGE_PREFIXES = ("/d/", "/v/", "/s/")


# Paths of the Open311 GeoReport v2 surface: every error there, a path the router never matched
# included, is GeoReport's array of {code, description}.
OPEN311_PREFIX = "/open311/"


def _open311(request: web.Request) -> bool:
    handler = request.match_info.handler
    return getattr(handler, ERRORS_ATTR, None) == "open311" or request.path.startswith(OPEN311_PREFIX)


def open311_errors(code: str, message: str, details: object = None) -> list[dict[str, str]]:
    """GeoReport v2's error list: ``code`` is our stable snake_case code (the HTTP status is the
    response's), ``description`` the Chinese message, with the fields at fault when validation failed."""
    description = message
    if isinstance(details, list) and details:
        fields = "、".join(str(d.get("field", "")) for d in details if isinstance(d, dict) and d.get("field"))
        if fields:
            description = f"{message}：{fields}"
    return [{"code": code, "description": description}]


def _error_response(request: web.Request, status: int, code: str, message: str, details: object = None,
                    headers: dict[str, str] | None = None) -> web.Response:
    if _open311(request):
        return json_response(open311_errors(code, message, details), status, headers)
    return json_response(error_body(code, message, details), status, headers)


def _wants_page(request: web.Request) -> bool:
    """A browser on one of our HTML pages (the H5 verify page, a decision page): it gets an HTML
    error page; API clients and JSON routes keep the JSON error body."""
    match = request.match_info
    page = bool(getattr(match.handler, PAGE_ATTR, False)) or request.path.startswith(PAGE_PREFIXES)
    return page and "text/html" in request.headers.get("Accept", "")


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    title = _PAGE_TITLES.get(status, "无法完成请求")
    text = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:560px;"
            "margin:0 auto;padding:24px;font-size:17px;line-height:1.6}h1{font-size:24px}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></main></body></html>")
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={**_PAGE_HEADERS, **(headers or {})})


def request_id(incoming: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is a plausible id (8-64 letters, digits, dashes), else a new one."""
    if incoming is not None and 8 <= len(incoming) <= 64 and incoming.isascii() \
            and incoming.replace("-", "").isalnum():
        return incoming
    # A request id only correlates log lines, it guards nothing: the non-cryptographic PRNG is
    # enough, and secrets.token_hex (an os.urandom syscall) cost ~4 % of a scan's CPU.
    return f"{getrandbits(64):016x}"  # reseeded after fork


def edge(settings: Settings) -> Middleware:
    """The one middleware: request id (log context and ``X-Request-Id``), the ``Server`` header, the
    client's address behind trusted proxies, and every failure turned into a JSON (or, for a browser
    on an HTML page, an HTML) error with a stable code.

    One middleware rather than one per concern: each layer is a coroutine and a partial per request,
    and aiohttp adds a layer of its own whenever an app has any; on the scan path that mattered."""
    proxies = settings.trusted_proxies
    debug = log.isEnabledFor
    counted = RequestCounter().observe

    @web.middleware
    async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request_id(request.headers.get("X-Request-Id"))
        if proxies:  # behind trusted reverse proxies: request.remote becomes the client's address
            client = client_address(request.remote, request.headers.getall("X-Forwarded-For", ()), proxies)
            if client is not None and client != request.remote:
                request = request.clone(remote=client)
        token = request_id_var.set(rid)
        started = perf_counter()
        status = 499  # the client went away (or the server stopped) before an answer: nginx's number
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    status = exc.status
                    exc.headers["Server"] = SERVER_NAME
                    raise
                response = _http_exception(request, exc)
            except asyncio.CancelledError:
                log.info("request cancelled (client disconnected or server stopping) during %s", request.method)
                raise
            except Exception as exc:
                response = _failure(request, exc)
            headers = response.headers
            headers["X-Request-Id"] = rid
            headers["Server"] = SERVER_NAME
            status = response.status
            return response
        finally:
            elapsed = perf_counter() - started
            # Paths carry random tokens: metrics and logs name the route pattern, never the concrete path.
            route = request.match_info.route
            counted(route, status, elapsed)
            if debug(logging.DEBUG):
                resource = route.resource
                log.debug("%s %s %.1fms", request.method,
                          resource.canonical if resource is not None else "<unmatched>", elapsed * 1000)
            request_id_var.reset(token)

    return edge_middleware


def _http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    code, message = http_error(exc.status)
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    if exc.status == 404 and _wants_page(request):
        return error_page(404, message, headers)
    return _error_response(request, exc.status, code, message, headers=headers)


def _failure(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, DomainError):
        retry = {"Retry-After": str(max(1, round(exc.retry_after)))} if isinstance(exc, RateLimited) else None
        if _wants_page(request):
            return error_page(exc.status, exc.message, retry)
        return _error_response(request, exc.status, exc.code, exc.message, exc.details, retry)
    if isinstance(exc, web.RequestPayloadError | HttpProcessingError):
        # A body the parser cannot read (bad chunked encoding, bad compression). The exception's text
        # may quote the request's bytes: log its class only.
        log.info("unreadable request body: %s", type(exc).__name__)
        return _error_response(request, 400, "bad_request", "请求格式错误")
    if isinstance(exc, ConnectionResetError):
        # The client went away mid-request (closed while sending its body): nothing to answer, no fault.
        log.info("client disconnected during %s", request.method)
        return _error_response(request, 400, "client_disconnected", "客户端已断开连接")
    log.exception("unhandled error on %s", request.method)
    return _error_response(request, 500, "internal_error", "服务器内部错误，请稍后再试")
