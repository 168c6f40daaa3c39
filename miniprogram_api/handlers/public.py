"""The citizen-facing surface: the H5 verify page, the mini-program JSON and the public register.

Everything here is public and unauthenticated (R-C6), so every route declares a per-client rate limit
(charged before the request is read) and answers from public fields only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import orjson
from aiohttp import web
from multidict import MultiMapping

from backend import metrics
from backend.app_keys import CLOCK, SETTINGS, VERIFIER
from backend.errors import NotFound
from backend.http.fast import Fast
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import Page
from backend.models.enums import CredentialStatus, ScanChannel
from backend.services import photos
from backend.services.disclosure import officer_list, scans
from backend.services.disclosure.verification import Verified, Verifier
from backend.services.ratelimit import RATINGS, SCANS
from miniprogram_api import pages
from miniprogram_api.schemas import (
    RatingCreate,
    RatingCreated,
    RatingForm,
    RegisterEntry,
    RegisterQuery,
    VerifyOut,
)

routes = RouteTable()
_NO_STORE = {"Cache-Control": "no-store"}  # live status: never cached by a browser or proxy
_JSON_NO_STORE = {**_NO_STORE, "Content-Type": "application/json"}
_MINIPROGRAM = ScanChannel.MINIPROGRAM  # (an enum member read through its class costs a descriptor call)
_INVALID_H5, _INVALID_MINIPROGRAM = metrics.SCANS_INVALID[ScanChannel.H5], metrics.SCANS_INVALID[_MINIPROGRAM]
_STATUS_JSON = {s: orjson.dumps({"status": s.value, "status_text": pages.STATUS_TEXT[s][0]})[:-1] + b","
                for s in CredentialStatus}


def _coords(query: MultiMapping[str]) -> tuple[float | None, float | None]:
    """Lenient parse of ``?lat=&lng=``: a bad or missing location is simply not recorded."""
    def num(name: str, bound: float) -> float | None:
        try:
            value = float(query.get(name, ""))
        except ValueError:
            return None
        return value if math.isfinite(value) and -bound <= value <= bound else None

    lat, lng = num("lat", 90), num("lng", 180)
    return (lat, lng) if lat is not None and lng is not None else (None, None)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=pages.HEADERS)


@routes.route("GET", "/v/{token}", access=PUBLIC, summary="H5 核验页（证件二维码指向此处）", tag="public",
              produces="text/html", errors=(404,), limit=SCANS)
async def verify_page(call: Call[None, None]) -> web.Response:
    request = call.request
    verifier, token = request.app[VERIFIER], call.path["token"]
    found = await verifier.verify(token)
    now = request.app[CLOCK].now()
    if found is None:
        _INVALID_H5.inc()
        # 404 either way; a browser (any phone camera's) gets the 无效二维码 page, other clients JSON.
        if "text/html" in request.headers.get("Accept", ""):
            return _html(pages.verify_page(pages.INVALID, now, None, None), status=404)
        raise NotFound("无效二维码：系统中没有这张证件", code="invalid_qr")
    lat, lng = _coords(request.query)
    verifier.recorder.add(found.credential_id, now, ScanChannel.H5, found.status, lat, lng)
    return _html(pages.verify_page(found.status, now, found.view, token))


@routes.route("GET", "/v/{token}/photo", access=PUBLIC, summary="执法人员照片（H5 核验页使用）", tag="public",
              produces="image/jpeg", errors=(404,), limit=SCANS)
async def photo(call: Call[None, None]) -> web.StreamResponse:
    request = call.request
    found = await request.app[VERIFIER].verify(call.path["token"])
    if found is None or not found.view["officer"]["has_photo"]:
        raise NotFound("没有照片", code="photo_not_found")
    path = await photos.officer_photo(request.app[SETTINGS].data_dir, found.view["officer"]["id"])
    if path is None:
        raise NotFound("没有照片", code="photo_not_found")
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


@routes.route("POST", "/v/{token}/rating", access=PUBLIC, summary="H5 评价表单（无需 JavaScript）", tag="public",
              form=RatingForm, produces="text/html", errors=(400, 404, 413, 415, 422), limit=RATINGS)
async def rate_form(call: Call[RatingForm, None]) -> web.Response:
    request = call.request
    token = call.path["token"]
    found = await request.app[VERIFIER].verify(token)
    if found is None:
        raise NotFound("无效二维码", code="invalid_qr")
    await scans.rate(found.credential_id, call.body.score, call.body.text)
    return _html(pages.message_page("感谢您的评价", "评价已匿名提交，执法监督机构会看到它。", back=f"/v/{token}"))


def _scan_prepare(app: web.Application, token: str, query: MultiMapping[str] | None) -> Callable[[], bytes] | None:
    """The scan as the protocol answers it (backend.http.fast) when the cache holds the token's live
    view: what ``verify_json`` does, without its request. None: ``verify_json`` answers."""
    verifier, now = app[VERIFIER], app[CLOCK].now()
    found = verifier.cached(token, now.date())
    if found is None:
        return None

    def answer() -> bytes:
        return _scanned(verifier, found, now, query)

    return answer


@routes.route("GET", "/mp/v1/verify/{token}", access=PUBLIC, tag="public", response=VerifyOut, errors=(404,),
              limit=SCANS, fast=Fast(_scan_prepare, _JSON_NO_STORE),
              summary="小程序核验证件（实时状态）；可选 ?lat=&lng= 粗略位置（保留两位小数存储，无效则忽略）")
async def verify_json(call: Call[None, None]) -> web.Response:
    request = call.request
    app = request.app
    verifier, now = app[VERIFIER], app[CLOCK].now()
    found = await verifier.verify(call.path["token"], now.date())
    if found is None:
        _INVALID_MINIPROGRAM.inc()
        raise NotFound("无效二维码：系统中没有这张证件", code="invalid_qr")
    body = _scanned(verifier, found, now, request.query if request.query_string else None)
    return web.Response(body=body, headers=_JSON_NO_STORE)


def _scanned(verifier: Verifier, found: Verified, now: datetime, query: MultiMapping[str] | None) -> bytes:
    """A scan's record and its answer, on either path."""
    # Location parsed by hand, leniently (like the H5 page): the hottest path skips model validation.
    lat, lng = _coords(query) if query is not None else (None, None)
    verifier.recorder.add(found.credential_id, now, _MINIPROGRAM, found.status, lat, lng)
    # Spliced from the cached, pre-serialised public view: the hot path builds no models and
    # serialises only what changes per scan (status, time).
    return b"".join((_STATUS_JSON[found.status], found.view["json_parts"], b',"checked_at":"',
                     now.isoformat(timespec="seconds").encode(), b'"}'))


@routes.route("POST", "/mp/v1/ratings", access=PUBLIC, summary="匿名评价一次执法（1–5 分）", tag="public",
              body=RatingCreate, response=RatingCreated, status=201, errors=(404, 422), limit=RATINGS)
async def create_rating(call: Call[RatingCreate, None]) -> RatingCreated:
    request = call.request
    found = await request.app[VERIFIER].verify(call.body.token)
    if found is None:
        raise NotFound("无效二维码：系统中没有这张证件", code="invalid_qr")
    rating = await scans.rate(found.credential_id, call.body.score, call.body.text)
    return RatingCreated(id=rating.id, message="评价已匿名提交")


@routes.route("GET", "/mp/v1/officers", access=PUBLIC, summary="执法人员公示（公开字段，分页）", tag="public",
              query=RegisterQuery, response=Page[RegisterEntry], errors=(422,), limit=SCANS)
async def register(call: Call[None, RegisterQuery]) -> Page[RegisterEntry]:
    q = call.query
    rows, total = await officer_list.public_register(q.agency, q.q, today=call.request.app[CLOCK].today(),
                                                    page=q.page, page_size=q.page_size)
    return Page[RegisterEntry](items=[RegisterEntry(**r) for r in rows], page=q.page, page_size=q.page_size,
                               total=total)
