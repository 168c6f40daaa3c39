"""Credential handlers for agencies and supervisors: issue, suspend/reinstate/revoke/reissue, QR images,
print sheets, scans and ratings. Parse -> service -> serialise."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from backend.app_keys import CLOCK, REDIS, SETTINGS, VERIFIER
from backend.errors import NotFound
from backend.http.routing import Call, RouteTable
from backend.http.schemas import Body, Out, Page, PageQuery, stripped
from backend.models import Credential
from backend.models.enums import CredentialStatus, Role, ScanChannel
from backend.services.disclosure import credentials as lifecycle
from backend.services.disclosure import printing, scans, status
from backend.services.disclosure.scans import ScanRecorder
from backend.services.disclosure.status import verify_url
from backend.services.disclosure.verification import KeyStore, Verifier, VerifyCache
from qr import render

routes = RouteTable("/api/v1")
log = logging.getLogger("yangguang.credentials")
READERS = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD, Role.SUPERVISOR}
Reason = Annotated[str, StringConstraints(max_length=500), AfterValidator(stripped)]


async def credentials_ctx(app: web.Application) -> AsyncIterator[None]:
    """The verifier (keys, cache, scan recorder); runs after the Redis context so it can share the pool."""
    settings = app[SETTINGS]
    recorder = ScanRecorder()
    cache = VerifyCache(app[REDIS], lease_seconds=settings.scan_lease_seconds)
    app[VERIFIER] = Verifier(KeyStore(settings.data_dir), cache, recorder, app[CLOCK])
    if app[REDIS] is not None:
        await cache.synced(within=2.0)  # the first scans hit the cache; if Redis is slow, they read the database
    yield
    await recorder.close()
    await cache.close()


# --- schemas ---------------------------------------------------------------------------------------


class CredentialIssue(Body):
    valid_from: date | None = Field(None, description="默认今天")
    valid_until: date


class ReasonBody(Body):
    reason: Reason = ""


class ReissueBody(Body):
    reason: Reason = ""
    valid_until: date | None = Field(None, description="默认沿用原证件的截止日期")


class CredentialOut(Out):
    id: uuid.UUID
    officer_id: uuid.UUID
    status: CredentialStatus = Field(description="当前状态（过期按日期实时计算）")
    status_reason: str
    valid_from: date
    valid_until: date
    replaced_by_id: uuid.UUID | None
    issued_at: datetime
    updated_at: datetime


class CredentialIssued(BaseModel):
    id: uuid.UUID
    officer_id: uuid.UUID
    token: str = Field(description="印在二维码中的令牌")
    verify_url: str
    status: CredentialStatus
    valid_from: date
    valid_until: date


class CredentialList(BaseModel):
    items: list[CredentialOut]


class PrintSheetBody(Body):
    credential_ids: Annotated[list[uuid.UUID], Field(max_length=500)] | None = Field(
        None, description="省略则打印本机构全部有效证件")
    format: Literal["pdf", "png"] = "pdf"
    page: int = Field(1, ge=1, le=50, description="format=png 时返回第几页")


class ScanOut(BaseModel):
    credential_id: uuid.UUID
    scanned_at: datetime
    channel: ScanChannel
    status_shown: CredentialStatus
    latitude: Decimal | None
    longitude: Decimal | None


class RatingOut(BaseModel):
    id: uuid.UUID
    credential_id: uuid.UUID
    score: int
    text: str
    created_at: datetime


# --- helpers ---------------------------------------------------------------------------------------


def _verifier(call: Call) -> Verifier:
    return call.request.app[VERIFIER]


def _shown(cred: Credential, call: Call) -> CredentialStatus:
    """What the card shows today (expired, not yet valid), as every scan does."""
    return status.effective_status(cred.status, cred.valid_from, cred.valid_until, call.request.app[CLOCK].today())


def _out(cred: Credential, call: Call) -> CredentialOut:
    out = CredentialOut.model_validate(cred)
    out.status = _shown(cred, call)
    return out


def _issued(cred: Credential, token: str, call: Call) -> CredentialIssued:
    return CredentialIssued(id=cred.id, officer_id=cred.officer_id, token=token,
                            verify_url=verify_url(call.request.app[SETTINGS].public_base_url, token),
                            status=_shown(cred, call), valid_from=cred.valid_from, valid_until=cred.valid_until)


def _scope(call: Call) -> uuid.UUID | None:
    return None if call.principal.is_supervisor else call.principal.agency_id


# --- lifecycle -------------------------------------------------------------------------------------


@routes.route("POST", "/officers/{officer_id}/credentials", access={Role.ADMIN}, summary="为执法人员发证",
              tag="credentials", body=CredentialIssue, response=CredentialIssued, status=201,
              errors=(404, 409, 422))
async def issue_credential(call: Call[CredentialIssue, None]) -> CredentialIssued:
    v = _verifier(call)
    cred, token = await lifecycle.issue(
        call.principal.agency_id, call.path_uuid("officer_id"), valid_from=call.body.valid_from,
        valid_until=call.body.valid_until, actor=call.principal.actor, keys=v.keys, clock=v.clock, cache=v.cache)
    return _issued(cred, token, call)


@routes.route("GET", "/officers/{officer_id}/credentials", access=READERS, summary="执法人员的证件（含历史）",
              tag="credentials", response=CredentialList, errors=(404,))
async def list_credentials(call: Call[None, None]) -> CredentialList:
    rows = await lifecycle.list_for_officer(_scope(call), call.path_uuid("officer_id"))
    return CredentialList(items=[_out(c, call) for c in rows])


@routes.route("GET", "/credentials/{credential_id}", access=READERS, summary="查看证件", tag="credentials",
              response=CredentialOut, errors=(404,))
async def get_credential(call: Call[None, None]) -> CredentialOut:
    return _out(await lifecycle.get_credential(_scope(call), call.path_uuid("credential_id")), call)


async def _change(call: Call[ReasonBody, None], action: str) -> CredentialOut:
    v = _verifier(call)
    # The supervisor (司法局) may suspend and revoke any agency's cards; the table says who may do what.
    scope = _scope(call) if call.principal.is_supervisor and action in SUPERVISOR_ACTIONS else call.principal.agency_id
    cred = await lifecycle.change(scope, call.path_uuid("credential_id"), action,
                                    actor=call.principal.actor, reason=call.body.reason, clock=v.clock, cache=v.cache)
    return _out(cred, call)


SUPERVISOR_ACTIONS = ("suspend", "revoke")


@routes.route("POST", "/credentials/{credential_id}/suspend", access={Role.ADMIN, Role.SUPERVISOR},
              summary="暂扣证件（须说明理由；监督机构可暂扣任何机构的证件）",
              tag="credentials", body=ReasonBody, response=CredentialOut, errors=(404, 409, 422))
async def suspend(call: Call[ReasonBody, None]) -> CredentialOut:
    return await _change(call, "suspend")


@routes.route("POST", "/credentials/{credential_id}/reinstate", access={Role.ADMIN}, summary="恢复暂扣的证件",
              tag="credentials", body=ReasonBody, response=CredentialOut, errors=(404, 409, 422))
async def reinstate(call: Call[ReasonBody, None]) -> CredentialOut:
    return await _change(call, "reinstate")


@routes.route("POST", "/credentials/{credential_id}/revoke", access={Role.ADMIN, Role.SUPERVISOR},
              summary="注销证件（不可恢复，须说明理由；监督机构可注销任何机构的证件）", tag="credentials",
              body=ReasonBody, response=CredentialOut, errors=(404, 409, 422))
async def revoke(call: Call[ReasonBody, None]) -> CredentialOut:
    return await _change(call, "revoke")


@routes.route("POST", "/credentials/{credential_id}/reissue", access={Role.ADMIN},
              summary="补发证件：新令牌，旧二维码立即作废", tag="credentials", body=ReissueBody,
              response=CredentialIssued, status=201, errors=(404, 409, 422))
async def reissue(call: Call[ReissueBody, None]) -> CredentialIssued:
    v = _verifier(call)
    cred, token = await lifecycle.reissue(
        call.principal.agency_id, call.path_uuid("credential_id"), actor=call.principal.actor,
        reason=call.body.reason, valid_until=call.body.valid_until, keys=v.keys, clock=v.clock, cache=v.cache)
    return _issued(cred, token, call)


# --- QR images and print sheets --------------------------------------------------------------------


async def _url_of(call: Call) -> str:
    cred = await lifecycle.get_credential(call.principal.agency_id, call.path_uuid("credential_id"))
    if not cred.token_seed:
        raise NotFound("该证件没有可重新生成的二维码", code="qr_unavailable")
    return verify_url(call.request.app[SETTINGS].public_base_url, _verifier(call).keys.token_for(cred.token_seed))


@routes.route("GET", "/credentials/{credential_id}/qr.png", access={Role.ADMIN}, summary="证件二维码 PNG（300 dpi）",
              tag="credentials", produces="image/png", errors=(404,))
async def qr_png(call: Call[None, None]) -> web.Response:
    url = await _url_of(call)
    return web.Response(body=await asyncio.to_thread(render.png, url), content_type="image/png",
                        headers={"Cache-Control": "no-store"})


@routes.route("GET", "/credentials/{credential_id}/qr.svg", access={Role.ADMIN}, summary="证件二维码 SVG",
              tag="credentials", produces="image/svg+xml", errors=(404,))
async def qr_svg(call: Call[None, None]) -> web.Response:
    url = await _url_of(call)
    return web.Response(body=render.svg(url), content_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@routes.route("POST", "/credentials/print-sheet", access={Role.ADMIN},
              summary="批量打印证卡（A4，每页 10 张；PDF 或单页 PNG）", tag="credentials", body=PrintSheetBody,
              produces="application/pdf", errors=(404, 409, 422))
async def print_sheet(call: Call[PrintSheetBody, None]) -> web.Response:
    app = call.request.app
    out = await printing.render(call.principal.agency_id, call.body.credential_ids, app[SETTINGS].public_base_url,
                                _verifier(call).keys, app[CLOCK].today(), fmt=call.body.format, page=call.body.page)
    headers = {"X-Page-Count": str(out.page_count)}
    if out.content_type == "application/pdf":
        headers["Content-Disposition"] = 'attachment; filename="credentials.pdf"'
    return web.Response(body=out.body, content_type=out.content_type, headers=headers)


# --- scans and ratings -----------------------------------------------------------------------------


@routes.route("GET", "/officers/{officer_id}/scans", access={Role.ADMIN, Role.HEAD, Role.SUPERVISOR},
              summary="执法人员的亮证（扫码）记录", tag="credentials", query=PageQuery, response=Page[ScanOut],
              errors=(404,))
async def list_scans(call: Call[None, PageQuery]) -> Page[ScanOut]:
    await _verifier(call).recorder.flush()  # this process's buffered scans first
    q = call.query
    rows, total = await scans.list_scans(_scope(call), call.path_uuid("officer_id"), page=q.page,
                                               page_size=q.page_size)
    return Page[ScanOut](items=[ScanOut(**r) for r in rows], page=q.page, page_size=q.page_size, total=total)


@routes.route("GET", "/officers/{officer_id}/ratings", access={Role.SUPERVISOR},
              summary="群众对执法人员的评价（仅监督机构可见）", tag="credentials", query=PageQuery,
              response=Page[RatingOut], errors=(404,))
async def list_ratings(call: Call[None, PageQuery]) -> Page[RatingOut]:
    q = call.query
    rows, total = await scans.list_ratings(call.path_uuid("officer_id"), page=q.page, page_size=q.page_size)
    return Page[RatingOut](items=[RatingOut(**r) for r in rows], page=q.page, page_size=q.page_size, total=total)
