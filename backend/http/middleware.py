"""Request ids and the one place where failures become JSON errors."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from backend.app_keys import SETTINGS
from backend.errors import DomainError, RateLimited
from backend.http.routing import json_response
from backend.logging_setup import request_id_var
from backend.proxies import client_address

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


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    # A request id only correlates log lines, it guards nothing: the non-cryptographic PRNG is
    # enough, and secrets.token_hex (an os.urandom syscall) cost ~4 % of a scan's CPU.
    rid = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() and incoming.replace("-", "").isalnum() \
        else f"{random.getrandbits(64):016x}"  # reseeded after fork by random
    proxies = request.app[SETTINGS].trusted_proxies
    if proxies:  # behind trusted reverse proxies: request.remote becomes the client's address
        client = client_address(request.remote, request.headers.getall("X-Forwarded-For", ()), proxies)
        if client is not None and client != request.remote:
            request = request.clone(remote=client)
    token = request_id_var.set(rid)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = rid
        response.headers["Server"] = SERVER_NAME
        return response
    finally:
        if log.isEnabledFor(logging.DEBUG):  # skip the route lookup when the line would be dropped
            # Paths carry random tokens; log the route pattern, never the concrete path.
            route = request.match_info.route.resource
            pattern = route.canonical if route is not None else "<unmatched>"
            log.debug("%s %s %.1fms", request.method, pattern, (time.perf_counter() - started) * 1000)
        request_id_var.reset(token)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        retry = {"Retry-After": str(max(1, round(exc.retry_after)))} if isinstance(exc, RateLimited) else None
        return json_response(error_body(exc.code, exc.message, exc.details), exc.status, retry)
    except web.HTTPException as exc:
        if exc.status < 400:
            exc.headers["Server"] = SERVER_NAME
            raise
        code, message = http_error(exc.status)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_response(error_body(code, message), exc.status, headers)
    except (web.RequestPayloadError, HttpProcessingError) as exc:
        # A body the parser cannot read (bad chunked encoding, bad compression). The exception's text
        # may quote the request's bytes: log its class only.
        log.info("unreadable request body: %s", type(exc).__name__)
        return json_response(error_body("bad_request", "请求格式错误"), 400)
    except ConnectionResetError:
        # The client went away mid-request (closed while sending its body): nothing to answer, no fault.
        log.info("client disconnected during %s", request.method)
        return json_response(error_body("client_disconnected", "客户端已断开连接"), 400)
    except asyncio.CancelledError:
        log.info("request cancelled (client disconnected or server stopping) during %s", request.method)
        raise
    except Exception:
        log.exception("unhandled error on %s", request.method)
        return json_response(error_body("internal_error", "服务器内部错误，请稍后再试"), 500)
