"""Public view of one published decision: the page the notification messages link to, and its JSON."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from html import escape

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from backend.http.routing import PUBLIC, Call, RouteTable
from backend.models.enums import CaseType, DecisionStatus, DecisionVersionKind
from backend.services import decisions
from backend.services.ratelimit import DECISIONS
from miniprogram_api import pages
from notifications import templates

routes = RouteTable()

STATUS_WORD = {DecisionStatus.PUBLISHED: "公示中", DecisionStatus.CORRECTED: "已更正",
               DecisionStatus.WITHDRAWN: "已撤回", DecisionStatus.ENDED: "公示期已结束"}
KIND_WORD = {DecisionVersionKind.PUBLISH: "公示", DecisionVersionKind.CORRECT: "更正",
             DecisionVersionKind.WITHDRAW: "撤回", DecisionVersionKind.END: "公示期满",
             DecisionVersionKind.CREDIT_REPAIR: "信用修复，提前结束公示"}
TYPE_WORD = {CaseType.PENALTY: "行政处罚", CaseType.PERMIT: "行政许可", CaseType.COERCION: "行政强制",
             CaseType.INSPECTION: "行政检查", CaseType.COLLECTION: "行政征收", CaseType.OTHER: "其他执法决定"}


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    kind: DecisionVersionKind
    at: datetime
    reason: str


class PublicDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agency_name: str
    type: CaseType
    document_no: str
    decided_at: date
    status: DecisionStatus
    party: str
    text: str | None
    published_at: datetime | None
    history: list[VersionOut]


@routes.route("GET", "/mp/v1/decisions/{decision_id}", access=PUBLIC, summary="公示的执法决定（含更正、撤回记录）",
              tag="public", response=PublicDecisionOut, errors=(404,), limit=DECISIONS)
async def decision_json(call: Call[None, None]) -> PublicDecisionOut:
    return PublicDecisionOut.model_validate(await decisions.public_view(call.path_uuid("decision_id")))


@routes.route("GET", "/d/{decision_id}", access=PUBLIC, summary="H5 执法决定公示页（通知短信中的链接）",
              tag="public", produces="text/html", errors=(404,), limit=DECISIONS)
async def decision_page(call: Call[None, None]) -> web.Response:
    d = await decisions.public_view(call.path_uuid("decision_id"))
    history = "".join(
        f"<li>{v.at:%Y-%m-%d %H:%M} {KIND_WORD[v.kind]}" + (f"：{escape(v.reason)}" if v.reason else "") + "</li>"
        for v in d.history)
    gone = "公示期已结束" if d.status is DecisionStatus.ENDED else "已撤回"
    body = (f"<p>{escape(d.text)}</p>" if d.text is not None
            else f"<p><strong>该决定{gone}，不再公示。</strong></p>")
    remedy = templates.remedy_notice(d.type)  # a permit never shows penalty-appeal text
    notice = ('<p class="muted">该决定公示后有更正，以下为更正后的内容；更正记录见下方。</p>'
              if d.status is DecisionStatus.CORRECTED else "")
    html = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(d.document_no)} · 执法决定公示</title><style>"
        "body{margin:0;font-family:-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;background:#f2f3f5;"
        "color:#1d2129;line-height:1.6}main{max-width:560px;margin:0 auto;padding:12px}"
        "section{background:#fff;border-radius:10px;padding:16px;margin:0 0 12px}h1{font-size:20px;margin:0 0 8px}"
        ".tag{display:inline-block;padding:2px 10px;border-radius:12px;background:#165dff;color:#fff}"
        ".tag.withdrawn{background:#86909c}.tag.corrected{background:#c25e00}.muted{color:#86909c;font-size:14px}"
        "</style></head><body><main>"
        f"<section><h1>{escape(TYPE_WORD[d.type])}决定公示</h1>"
        f"<p><span class='tag {d.status.value}' id='status'>{STATUS_WORD[d.status]}</span></p>"
        f"<p>文书编号：{escape(d.document_no)}<br>执法机关：{escape(d.agency_name)}<br>"
        f"当事人：{escape(d.party)}<br>决定日期：{d.decided_at:%Y-%m-%d}</p></section>"
        f"<section>{notice}{body}</section>"
        f"<section><h2>公示记录</h2><ul>{history}</ul>"
        + (f"<p class='muted' id='remedies'>{escape(remedy)}</p>" if remedy and d.text is not None else "")
        + "</section></main></body></html>"
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=pages.HEADERS)
