"""Declarative routes: each endpoint states who may call it and its request/response schemas.

The same declarations drive request parsing, access control (deny by default: an endpoint with
no access policy cannot be registered) and the OpenAPI description.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from backend.errors import DomainError, NotFound, ValidationFailed
from backend.models.enums import Role

PUBLIC = "public"  # marker: callable without a key (scans, registers, health)

B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"
    message = "请求体不是有效的 JSON"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "请求体必须是 application/json"


@dataclass
class Call(Generic[B, Q]):
    """What a handler receives: the request, the caller, and the parsed inputs."""

    request: web.Request
    principal: Any  # backend.api.auth.Principal, or None on public routes
    body: B
    query: Q
    path: dict[str, str]

    def path_uuid(self, name: str) -> uuid.UUID:
        """Path ids are random UUIDs; anything else is simply not found."""
        try:
            return uuid.UUID(self.path[name])
        except (KeyError, ValueError) as exc:
            raise NotFound() from exc


Handler = Callable[[Call[Any, Any]], Awaitable[BaseModel | web.StreamResponse | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: frozenset[Role] | str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tag: str = ""
    # Non-JSON responses (PNG, SVG, HTML) for the OpenAPI description.
    produces: str | None = None
    errors: tuple[int, ...] = ()


@dataclass
class RouteTable:
    prefix: str = ""
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Iterable[Role] | str,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        tag: str = "",
        produces: str | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        if access != PUBLIC:
            if isinstance(access, str):
                raise ValueError(f"access must be roles or PUBLIC, got {access!r}")
            access = frozenset(access)
            if not access:
                raise ValueError(f"{method} {path}: empty role set; use PUBLIC or name the roles")

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method.upper(), self.prefix + path, handler, access,  # type: ignore[arg-type]
                         summary, body, query, response, status, tag, produces, errors)
            )
            return handler

        return register


Authenticator = Callable[[web.Request, frozenset[Role]], Awaitable[Any]]

# Attribute set on every wrapped handler; the access meta-test reads it from the router.
ACCESS_ATTR = "__yangguang_access__"
# Set on handlers of HTML pages: their errors are HTML for browsers (backend.api.middleware).
PAGE_ATTR = "__yangguang_page__"


def install(app: web.Application, table: RouteTable, authenticate: Authenticator) -> None:
    for ep in table.endpoints:
        wrapped = _wrap(ep, authenticate)
        setattr(wrapped, ACCESS_ATTR, ep.access)
        setattr(wrapped, PAGE_ATTR, ep.produces == "text/html")
        app.router.add_route(ep.method, ep.path, wrapped)


def _wrap(ep: Endpoint, authenticate: Authenticator) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        principal = None
        if ep.access != PUBLIC:
            principal = await authenticate(request, ep.access)  # type: ignore[arg-type]
        query = _parse_query(ep.query, request) if ep.query else None
        body = await _parse_body(ep.body, request) if ep.body else None
        result = await ep.handler(Call(request, principal, body, query, dict(request.match_info)))
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204 if ep.status == 200 else ep.status)
        return json_response(result.model_dump(mode="json"), status=ep.status)

    handler.__name__ = ep.handler.__name__
    return handler


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _parse_query(model: type[BaseModel], request: web.Request) -> BaseModel:
    raw: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise ValidationFailed(f"查询参数 {key} 只能出现一次", code="validation_error")
        raw[key] = values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(details=_error_details(exc)) from exc


async def _parse_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    raw = await request.read()  # client_max_size turns an oversized body into 413 here
    if request.content_type != "application/json" and raw:
        raise UnsupportedMediaType()
    if not raw:
        raw = b"{}" if request.content_type != "application/json" else raw
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise MalformedJson() from exc
        if any(e["type"] == "model_type" and not e["loc"] for e in exc.errors()):
            raise ValidationFailed("请求体必须是 JSON 对象", details=_error_details(exc)) from exc
        raise ValidationFailed(details=_error_details(exc)) from exc


def _error_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Field paths and error kinds only: never echo the submitted values back.
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "type": e["type"]}
        for e in exc.errors(include_input=False, include_url=False)
    ][:20]


_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def openapi_path(path: str) -> str:
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
