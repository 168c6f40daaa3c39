"""Declarative routes: each endpoint states who may call it, its rate limit and its request/response
schemas.

The same declarations drive request parsing, access control (deny by default: an endpoint with
no access policy cannot be registered), rate limiting (charged before the query or the body is
read) and the OpenAPI description.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import orjson
from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ValidationError

from backend.app_keys import RATE_LIMITER, SETTINGS
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.models.enums import Role
from backend.services.ratelimit import Rule, charger, client_subject, spend

if TYPE_CHECKING:  # backend.http.fast imports this module
    from backend.http.fast import Fast

PUBLIC = "public"  # marker: callable without a key (scans, registers, health)
# marker: a party signed in to the mini-program (``Authorization: Bearer <session_token>`` from
# POST /mp/v1/session); what they reach is limited to their own cases by the services.
PARTY = "party"
# marker: a provider's callback (WeChat's message push). No key and no session: the route's
# ``verify`` hook checks the provider's signature before anything else of the request is used, and
# what it returns is the call's principal.
SIGNED = "signed"

B = TypeVar("B", bound=BaseModel | None)  # None: the route takes no body
Q = TypeVar("Q", bound=BaseModel | None)  # None: the route takes no query


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"
    message = "请求体不是有效的 JSON"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "请求体必须是 application/json"


class UnsupportedCharset(DomainError):
    status = 415
    code = "unsupported_charset"
    message = "请求体的字符集必须是 UTF-8"


class MalformedForm(DomainError):
    status = 400
    code = "malformed_form"
    message = "表单内容不是有效的 UTF-8 URL 编码"


class FormTooLarge(DomainError):
    status = 413
    code = "form_too_large"
    message = "表单内容过长"


FORM_TYPE = "application/x-www-form-urlencoded"
FORM_MAX_BYTES = 4096  # a rating form is a score and 500 characters: 4 KiB is plenty
FORM_MAX_FIELDS = 20
# Path parameters named ``*_id`` are random UUIDs, accepted only in their canonical 8-4-4-4-12 form;
# anything else names no resource and is answered 404 before the handler runs.
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid_param(name: str) -> bool:
    return name.endswith("_id")


@dataclass
class Call(Generic[B, Q]):
    """What a handler receives: the request, the caller, and the parsed inputs."""

    request: web.Request
    principal: Any  # backend.api.auth.Principal, or None on public routes
    body: B
    query: Q
    path: Mapping[str, str]  # the route's match info (read-only)

    def path_uuid(self, name: str) -> uuid.UUID:
        """Path ids are random UUIDs (the router matches nothing else: ``router_path``)."""
        value = self.path.get(name, "")
        if not _UUID_TEXT.fullmatch(value):
            raise NotFound()
        return uuid.UUID(value)


Handler = Callable[[Call[Any, Any]], Awaitable[BaseModel | web.StreamResponse | None]]


# How a surface writes its errors: ours ({"error": {"code", "message"}}) or GeoReport v2's array of
# {"code", "description"} (the Open311 surface; backend.http.middleware writes both).
ErrorFormat = Literal["house", "open311"]


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
    # Non-JSON responses (PNG, SVG, HTML) for the OpenAPI description; several media types when the
    # response's type depends on the resource (an evidence file).
    produces: str | tuple[str, ...] | None = None
    errors: tuple[int, ...] = ()
    limit: Rule | None = None  # backend.services.ratelimit: the budget each call spends
    # An HTML form body (application/x-www-form-urlencoded), parsed into this model like ``body``.
    form: type[BaseModel] | None = None
    # A multipart/form-data upload the handler streams itself (past the JSON body limit); this model
    # describes its parts for the OpenAPI description only.
    upload: type[BaseModel] | None = None
    form_max_bytes: int = 0  # 0: FORM_MAX_BYTES (a form with a long text says how long it may be)
    errors_as: ErrorFormat = "house"
    # A PUBLIC route that also takes a mini-program session: with ``Authorization`` the caller must
    # be a live session (401 otherwise) and is the call's principal; without it the principal is None.
    session_optional: bool = False
    verify: Verifier | None = None  # SIGNED routes: the signature check
    # A body the handler reads itself in a provider's format (XML or JSON): its OpenAPI requestBody.
    raw_body: Mapping[str, Any] | None = None
    # Also answered by the protocol itself when no I/O is needed (backend.http.fast): the scan.
    fast: Fast | None = None


@dataclass
class RouteTable:
    prefix: str = ""
    endpoints: list[Endpoint] = field(default_factory=list)
    # A surface whose keys arrive otherwise than ``Authorization: Bearer`` (Open311's api_key
    # parameter) brings its own authenticator; None: the one install() is given.
    authenticator: Authenticator | None = None
    errors_as: ErrorFormat = "house"

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
        produces: str | tuple[str, ...] | None = None,
        errors: tuple[int, ...] = (),
        limit: Rule | None = None,
        form: type[BaseModel] | None = None,
        upload: type[BaseModel] | None = None,
        form_max_bytes: int = 0,
        session_optional: bool = False,
        verify: Verifier | None = None,
        raw_body: Mapping[str, Any] | None = None,
        fast: Fast | None = None,
    ) -> Callable[[Handler], Handler]:
        if sum(x is not None for x in (body, form, upload, raw_body)) > 1:
            raise ValueError(f"{method} {path}: a route takes one of a JSON body, a form or an upload")
        if (access == SIGNED) != (verify is not None):
            raise ValueError(f"{method} {path}: a SIGNED route, and only one, declares its verify hook")
        if access not in (PUBLIC, PARTY, SIGNED):
            if isinstance(access, str):
                raise ValueError(f"access must be roles, PUBLIC, PARTY or SIGNED, got {access!r}")
            access = frozenset(access)
            if not access:
                raise ValueError(f"{method} {path}: empty role set; use PUBLIC or name the roles")
        if session_optional and access != PUBLIC:
            raise ValueError(f"{method} {path}: an optional session is for PUBLIC routes")

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method.upper(), self.prefix + path, handler, access,
                         summary, body, query, response, status, tag, produces,
                         (*errors, 429) if limit is not None and 429 not in errors else errors, limit, form,
                         upload, form_max_bytes, self.errors_as, session_optional, verify, raw_body, fast)
            )
            return handler

        return register


Authenticator = Callable[[web.Request, frozenset[Role]], Awaitable[Any]]
# A SIGNED route's check: the request (its query, its body if the signature covers it) -> principal.
Verifier = Callable[[web.Request], Awaitable[Any]]

# Attribute set on every wrapped handler; the access meta-test reads it from the router.
ACCESS_ATTR = "__yangguang_access__"
# Set on handlers of HTML pages: their errors are HTML for browsers (backend.http.middleware).
PAGE_ATTR = "__yangguang_page__"
# Set on every wrapped handler: the ErrorFormat of its surface (backend.http.middleware).
ERRORS_ATTR = "__yangguang_errors__"


def router_path(path: str) -> str:
    """The path as aiohttp matches it: ``{…_id}`` only matches a canonical UUID, so another route's
    fixed segment (``/credentials/print-sheet``) is never taken for an id, and 405 answers list
    exactly the methods of the resource that was meant."""
    def constrain(m: re.Match[str]) -> str:
        name = m.group(1)
        return "{" + name + ":" + _UUID_TEXT.pattern + "}" if is_uuid_param(name) and ":" not in m.group(0) \
            else m.group(0)

    return _PATH_PARAM.sub(constrain, path)


PartyAuthenticator = Callable[[web.Request], Awaitable[Any]]


def install(app: web.Application, table: RouteTable, authenticate: Authenticator,
            authenticate_party: PartyAuthenticator | None = None) -> None:
    for ep in table.endpoints:
        if (ep.access == PARTY or ep.session_optional) and authenticate_party is None:
            raise ValueError(f"{ep.method} {ep.path}: a PARTY route needs the party authenticator")
        wrapped = _wrap(app, ep, table.authenticator or authenticate, authenticate_party)
        setattr(wrapped, ACCESS_ATTR, ep.access)
        setattr(wrapped, PAGE_ATTR, ep.produces == "text/html")
        setattr(wrapped, ERRORS_ATTR, ep.errors_as)
        app.router.add_route(ep.method, router_path(ep.path), wrapped)


def _wrap(app: web.Application, ep: Endpoint, authenticate: Authenticator,
          authenticate_party: PartyAuthenticator | None = None
          ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    # What the declaration says is decided here, once, not on every request.
    public, rule, query_model, body_model, form_model = ep.access == PUBLIC, ep.limit, ep.query, ep.body, ep.form
    form_max = ep.form_max_bytes or FORM_MAX_BYTES
    party = ep.access == PARTY
    verify = ep.verify if ep.access == SIGNED else None
    session_optional = ep.session_optional
    per_agency = rule is not None and rule.per == "agency"
    per_session = rule is not None and rule.per == "session"
    if per_session and not party:
        raise ValueError(f"{ep.method} {ep.path}: a per-session limit needs a PARTY route")
    limiter, settings = app[RATE_LIMITER], app[SETTINGS]
    charge = charger(limiter, rule, settings) if rule is not None and not rule.exact else None

    async def handler(request: web.Request) -> web.StreamResponse:
        if verify is not None:
            principal = None  # verified below, after the limit: forged floods are charged first
        elif public:
            principal = None
            if session_optional and "Authorization" in request.headers:
                principal = await authenticate_party(request)  # type: ignore[misc]
        elif party:
            principal = await authenticate_party(request)  # type: ignore[misc]
        else:
            principal = await authenticate(request, ep.access)  # type: ignore[arg-type]
        if rule is not None:  # before anything of the request is read or parsed
            if per_session and principal is not None:
                subject = str(principal.session_id)
            elif per_agency and principal is not None:
                subject = str(principal.agency_id)
            else:
                subject = client_subject(request.remote)
            if charge is not None:
                charge(subject)  # no I/O: charged to Redis in batches
            else:
                await spend(limiter, rule, settings, subject)
        if verify is not None:
            principal = await verify(request)
        query = _parse_query(query_model, request) if query_model else None
        body: BaseModel | None = None
        if body_model:
            body = await _parse_body(body_model, request)
        elif form_model:
            body = await _parse_form(form_model, request, form_max)
        result = await ep.handler(Call(request, principal, body, query, request.match_info))
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204 if ep.status == 200 else ep.status)
        return json_response(result.model_dump(mode="json"), status=ep.status)

    handler.__name__ = ep.handler.__name__
    return handler


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None, *,
                  dumps: Callable[[Any], bytes] = orjson.dumps) -> web.Response:
    """Every JSON answer; ``dumps`` for a body with types plain orjson does not write (search hits)."""
    return web.Response(
        body=dumps(data), status=status, content_type="application/json", headers=headers
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


def _check_charset(request: web.Request) -> None:
    # JSON and URL-encoded forms are UTF-8; a declared charset that says otherwise is refused, not guessed.
    charset = request.charset
    if charset is not None and charset.strip().lower() not in ("utf-8", "utf8"):
        raise UnsupportedCharset()


async def _parse_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    raw = await request.read()  # client_max_size turns an oversized body into 413 here
    if request.content_type != "application/json" and raw:
        raise UnsupportedMediaType()
    _check_charset(request)
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


READ_CHUNK = 64 * 1024


async def read_bounded(stream: web.Request | BodyPartReader, limit: int, too_large: type[DomainError]) -> bytes:
    """A body a handler reads itself (an upload, one part of a multipart form, a provider's push), in
    chunks, refused with ``too_large`` the moment it passes ``limit`` bytes: never read whole first.
    A request whose declared length is already past ``limit`` is refused before a byte is read."""
    if isinstance(stream, web.Request) and stream.content_length is not None and stream.content_length > limit:
        raise too_large()
    data = bytearray()
    while True:
        chunk = await (stream.content.read(READ_CHUNK) if isinstance(stream, web.Request)
                       else stream.read_chunk(READ_CHUNK))
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise too_large()


async def _parse_form(model: type[BaseModel], request: web.Request, max_bytes: int = FORM_MAX_BYTES) -> BaseModel:
    """URL-encoded form → model, refusing what ``request.post()`` would crash on or guess at.

    Bad charsets, bytes that are not UTF-8 (raw or percent-encoded), too many fields, repeated
    fields and oversized forms each get their own 4xx; the values are then validated like a query.
    """
    if request.content_length is not None and request.content_length > max_bytes:
        raise FormTooLarge()
    raw = await request.read()
    if len(raw) > max_bytes:
        raise FormTooLarge()
    if raw and request.content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"请求体必须是 {FORM_TYPE}")
    _check_charset(request)
    try:
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                                       errors="strict", max_num_fields=FORM_MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise MalformedForm() from exc
    except ValueError as exc:  # more than FORM_MAX_FIELDS fields
        raise MalformedForm(f"表单字段不能超过 {FORM_MAX_FIELDS} 个") from exc
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise ValidationFailed(f"表单字段 {key[:20]} 只能出现一次", code="validation_error")
        values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
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
