"""Public view of one published decision (the page the notification messages link to, and its JSON),
and the public search of published decisions (its JSON and its H5 page)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from html import escape
from typing import Any, Literal
from urllib.parse import urlencode

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import PUBLIC, Call, RouteTable, json_response
from backend.http.schemas import Body, QueryDate
from backend.models.enums import CaseType, DecisionStatus, DecisionVersionKind
from backend.services import decisions, search
from backend.services.ratelimit import DECISION_SEARCHES, DECISIONS
from backend.settings import Settings
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


# -- the public search (R-P5): services/search.py ---------------------------------------------------

SEARCH_EXAMPLE_ID = "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"


class SearchQuery(Body):
    """Every filter is optional; those given all apply."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "agency": "0c6b1f6e-4f0a-4d1e-9a57-2f5a8c3d9b21", "type": "penalty", "from": "2026-01-01",
        "to": "2026-12-31", "party": "星辰科技"}]})

    agency: uuid.UUID | None = Field(None, description="执法机关 ID")
    type: CaseType | None = Field(None, description="决定类型")
    from_: QueryDate | None = Field(None, alias="from", description="决定日期起（含），YYYY-MM-DD")
    to: QueryDate | None = Field(None, description="决定日期止（含），YYYY-MM-DD")
    party: str | None = Field(None, max_length=search.QUERY_MAX,
                              description="当事人名称中的连续文字（至少两个连续汉字、字母或数字）；只匹配单位名称，"
                                          "自然人姓名不可检索")
    document_no: str | None = Field(None, max_length=search.QUERY_MAX, description="文书编号（完全一致）")
    cursor: str | None = Field(None, max_length=200, description="上一页返回的 next_cursor；不透明，勿修改")

    def filters(self) -> search.Filters:
        return search.Filters(self.agency, self.type, self.from_, self.to, self.party, self.document_no)


Blank = Literal[""]


class SearchForm(Body):
    """The H5 form's query: the same fields, each may also be empty (a browser sends every field of a
    GET form, empty when not filled in), and an empty field filters nothing."""

    agency: uuid.UUID | Blank | None = None
    type: CaseType | Blank | None = None
    from_: QueryDate | Blank | None = Field(None, alias="from")
    to: QueryDate | Blank | None = None
    party: str | None = Field(None, max_length=search.QUERY_MAX)
    document_no: str | None = Field(None, max_length=search.QUERY_MAX)
    cursor: str | None = Field(None, max_length=200)

    def query(self) -> SearchQuery:
        given = {"agency": self.agency, "type": self.type, "from": self.from_, "to": self.to, "party": self.party,
                 "document_no": self.document_no, "cursor": self.cursor}
        return SearchQuery.model_validate({k: v for k, v in given.items() if v not in ("", None)})


class SearchHitOut(BaseModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    type: CaseType
    document_no: str
    decided_at: date
    status: DecisionStatus = Field(description="published 公示中，corrected 已更正（显示更正后的内容）")
    corrected: bool = Field(description="公示后是否更正过")
    corrected_at: datetime | None = Field(description="最近一次更正的时间")
    version: int = Field(description="当前显示的版本号（每次公示、更正加一）")
    published_at: datetime
    party: str = Field(description="当事人（自然人已遮蔽，未成年人不显示）")
    text: str = Field(description="决定的公示文本（已遮蔽）")
    url: str = Field(description="决定的 H5 公示页")


class SearchPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": SEARCH_EXAMPLE_ID, "agency_id": "0c6b1f6e-4f0a-4d1e-9a57-2f5a8c3d9b21",
                   "agency_name": "杭州市西湖区市场监督管理局", "type": "penalty",
                   "document_no": "杭西市监罚〔2026〕12号", "decided_at": "2026-11-02", "status": "corrected",
                   "corrected": True, "corrected_at": "2026-11-20T12:00:00+08:00", "version": 2,
                   "published_at": "2026-11-20T10:00:00+08:00", "party": "欧阳*、杭州星辰科技有限公司",
                   "text": "当事人欧阳*无证经营，罚款一千元。",
                   "url": f"https://yangguang.example.gov.cn/d/{SEARCH_EXAMPLE_ID}"}],
        "next_cursor": "MjAyNi0xMS0wMnw1YjBmMGQzZThmNWM0YTQzOWQ0MzJmMmY2ZjFjOWExMHw5ZjNhYjI0YzExZDA"}]})

    items: list[SearchHitOut]
    next_cursor: str | None = Field(description="下一页的游标；null 表示没有更多")


async def _search(call: Call[None, Any], q: SearchQuery) -> tuple[search.Page, Settings]:
    settings = call.request.app[SETTINGS]
    page = await search.search(q.filters(), q.cursor, baseline=settings.search_baseline_like)
    return page, settings


def hit_json(h: search.Hit, settings: Settings) -> dict[str, Any]:
    """One hit as ``SearchHitOut`` would serialise it (tests hold the two equal), without building the
    model: on a page of 20 hits, validation and ``model_dump`` cost more CPU than the query itself, and
    under load that CPU is the p95. orjson writes the UUIDs, dates, enums and (OPT_UTC_Z) UTC times as
    pydantic's JSON mode does."""
    return {"id": h.decision_id, "agency_id": h.agency_id, "agency_name": h.agency_name, "type": h.type,
            "document_no": h.document_no, "decided_at": h.decided_at, "status": h.status,
            "corrected": h.corrected_at is not None, "corrected_at": h.corrected_at, "version": h.version,
            "published_at": h.published_at, "party": h.party, "text": h.text,
            "url": decisions.url(settings, h.decision_id)}


@routes.route("GET", "/mp/v1/decisions", access=PUBLIC, tag="public",
              summary="检索公示中的执法决定（机关、类型、日期、单位名称、文书编号）",
              query=SearchQuery, response=SearchPageOut, errors=(400, 422), limit=DECISION_SEARCHES)
async def search_json(call: Call[None, SearchQuery]) -> web.Response:
    page, settings = await _search(call, call.query)
    body = {"items": [hit_json(h, settings) for h in page.items], "next_cursor": page.next_cursor}
    return json_response(body, dumps=dumps_hits)


def _uuid_text(value: object) -> str:
    # asyncpg's UUID subclasses uuid.UUID, which orjson writes natively only by exact type.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_hits(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, default=_uuid_text, option=orjson.OPT_UTC_Z)


@routes.route("GET", "/d", access=PUBLIC, summary="H5 执法决定公示检索页（无需脚本）", tag="public",
              query=SearchForm, produces="text/html", errors=(400, 422), limit=DECISION_SEARCHES)
async def search_page(call: Call[None, SearchForm]) -> web.Response:
    q = call.query.query()
    asked = any(v is not None for v in (q.agency, q.type, q.from_, q.to, q.party, q.document_no, q.cursor))
    results = ""
    if asked:
        page, _ = await _search(call, q)
        rows = "".join(
            f"<li><a href='/d/{h.decision_id}'>{escape(h.document_no)}</a> "
            f"<span class='muted'>{escape(TYPE_WORD[h.type])} · {h.decided_at:%Y-%m-%d}</span>"
            + (" <span class='tag corrected'>已更正</span>" if h.corrected_at is not None else "")
            + f"<br>{escape(h.agency_name)} · 当事人：{escape(h.party)}"
            f"<br><span class='excerpt'>{escape(_excerpt(h.text))}</span></li>"
            for h in page.items)
        more = ""
        if page.next_cursor is not None:
            params = {**_given(q), "cursor": page.next_cursor}
            more = f"<p><a id='next' href='/d?{escape(urlencode(params))}'>下一页</a></p>"
        results = (f"<section><ol id='results'>{rows}</ol>{more}</section>" if rows
                   else "<section><p id='results'>没有找到符合条件的公示决定。</p></section>")
    types = "".join(f"<option value='{t.value}'{' selected' if q.type is t else ''}>{w}</option>"
                    for t, w in TYPE_WORD.items())
    html = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'><title>执法决定公示检索</title><style>"
        "body{margin:0;font-family:-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;background:#f2f3f5;"
        "color:#1d2129;line-height:1.6}main{max-width:560px;margin:0 auto;padding:12px}"
        "section{background:#fff;border-radius:10px;padding:16px;margin:0 0 12px}h1{font-size:20px;margin:0 0 8px}"
        "label{display:block;margin:6px 0}input,select{width:100%;box-sizing:border-box;padding:8px;font-size:16px}"
        "button{margin-top:8px;padding:10px 20px;font-size:16px;border:0;border-radius:8px;background:#165dff;"
        "color:#fff}li{margin:0 0 12px}.muted{color:#86909c;font-size:14px}.excerpt{font-size:14px}"
        ".tag{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:13px}"
        ".tag.corrected{background:#c25e00}</style></head><body><main>"
        "<section><h1>执法决定公示检索</h1><form method='get' action='/d'>"
        f"<label>当事人（单位名称）<input name='party' maxlength='{search.QUERY_MAX}' value='{escape(q.party or '')}'"
        " placeholder='如：星辰科技'></label>"
        f"<label>文书编号<input name='document_no' maxlength='{search.QUERY_MAX}'"
        f" value='{escape(q.document_no or '')}'></label>"
        f"<label>决定类型<select name='type'><option value=''>全部</option>{types}</select></label>"
        f"<label>决定日期起<input type='date' name='from' value='{q.from_.isoformat() if q.from_ else ''}'></label>"
        f"<label>决定日期止<input type='date' name='to' value='{q.to.isoformat() if q.to else ''}'></label>"
        + (f"<input type='hidden' name='agency' value='{q.agency}'>" if q.agency else "")
        + "<button type='submit'>检索</button></form>"
        "<p class='muted'>只能按单位名称检索；自然人姓名不公开检索。</p></section>"
        f"{results}<footer class='muted'><p>各执法机关的年度执法数字见"
        f"<a id='statistics' href='/s/{call.request.app[CLOCK].today().year - 1}'>统计年报</a>。</p></footer>"
        "</main></body></html>")
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=pages.HEADERS)


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _given(q: SearchQuery) -> dict[str, str]:
    values = {"agency": q.agency, "type": q.type.value if q.type else None, "from": q.from_, "to": q.to,
              "party": q.party, "document_no": q.document_no}
    return {k: str(v) for k, v in values.items() if v is not None}
