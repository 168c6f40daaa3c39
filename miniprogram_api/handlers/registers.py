"""An agency's public registers (R-D1, R-D3): its own facts (主体资格) and each list, JSON for the
mini-program and H5 pages for any browser. Published versions only (``services/registers/public``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from html import escape
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from backend.app_keys import CLOCK
from backend.errors import NotFound
from backend.http.register_content import EXAMPLES, FIELD_WORDS, KIND_WORDS, POWER_TYPE_WORDS
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import PageQuery
from backend.models import Agency, RegisterVersion
from backend.models.enums import RegisterKind
from backend.services import statistics
from backend.services.ratelimit import REGISTERS
from backend.services.registers import public
from miniprogram_api import pages

routes = RouteTable()

_AGENCY_ID = "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"


class PublicVersionOut(BaseModel):
    version: int
    title: str
    effective_from: date = Field(description="本版本的生效日期")
    in_effect: bool = Field(description="今天是否适用此版本（生效日期在今天或之前的最新公开版本）")
    published_at: datetime | None
    retirement: bool = Field(False, description="true：本版本是停止公开（废止）该项，自生效日期起不再列出该项")
    retirement_reason: str = Field("", description="停止公开的理由")
    content: dict[str, Any] = Field(description="本版本的内容；停止公开的版本为空对象")
    leaf_index: int | None = Field(None, description="本版本公开这一环节在透明日志中的叶序号")


class PublicItemOut(BaseModel):
    code: str
    title: str
    in_effect_version: int | None = Field(description="今天生效的版本号；全部版本都将来生效时为 null")
    versions: list[PublicVersionOut] = Field(description="已公开的全部版本，新的在前（含将来生效的停止公开）")


class PublicRegisterPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "agency_id": _AGENCY_ID, "agency_name": "杭州市西湖区市场监督管理局", "kind": "power", "kind_name": "权责清单",
        "items": [{"code": "XZCF-0001", "title": EXAMPLES[RegisterKind.POWER]["name"], "in_effect_version": 1,
                   "versions": [{"version": 1, "title": EXAMPLES[RegisterKind.POWER]["name"],
                                 "effective_from": "2026-12-01", "in_effect": True,
                                 "published_at": "2026-11-24T09:00:00+08:00", "retirement": False,
                                 "retirement_reason": "", "content": EXAMPLES[RegisterKind.POWER],
                                 "leaf_index": 1204},
                                {"version": 3, "title": EXAMPLES[RegisterKind.POWER]["name"],
                                 "effective_from": "2027-01-01", "in_effect": False,
                                 "published_at": "2026-12-10T09:00:00+08:00", "retirement": True,
                                 "retirement_reason": "设定依据已废止", "content": {}, "leaf_index": 1390}]}],
        "page": 1, "page_size": 20, "total": 1}]})

    agency_id: uuid.UUID
    agency_name: str
    kind: RegisterKind
    kind_name: str
    items: list[PublicItemOut]
    page: int
    page_size: int
    total: int


class RegisterSummary(BaseModel):
    kind: RegisterKind
    kind_name: str
    items: int = Field(description="已公开的事项数")
    url: str = Field(description="该清单的公开接口")


class PublicAgencyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _AGENCY_ID, "name": "杭州市西湖区市场监督管理局", "credit_code": "11330106MB0000000X",
        "region": "杭州市西湖区", "qualification": {
            "version": 1, "title": "杭州市西湖区市场监督管理局", "effective_from": "2026-12-01", "in_effect": True,
            "published_at": "2026-11-24T09:00:00+08:00", "retirement": False, "retirement_reason": "",
            "content": EXAMPLES[RegisterKind.AGENCY], "leaf_index": 1100},
        "qualification_versions": [{"version": 1, "effective_from": "2026-12-01", "in_effect": True}],
        "registers": [{"kind": "power", "kind_name": "权责清单", "items": 12,
                       "url": f"/mp/v1/agencies/{_AGENCY_ID}/registers/power"}]}]})

    id: uuid.UUID
    name: str
    credit_code: str
    region: str
    qualification: PublicVersionOut | None = Field(
        description="今天生效的行政执法主体资格（法律依据、经费来源、编制、职责、法定代表人、地址、投诉电话）；"
                    "尚未公开时为 null")
    qualification_versions: list[dict[str, Any]] = Field(description="主体资格已公开的全部版本（版本号、生效日期）")
    registers: list[RegisterSummary]


class PublicRegisterQuery(PageQuery):
    pass


def _kind(text: str) -> RegisterKind:
    try:
        return RegisterKind(text)
    except ValueError:
        raise NotFound("没有这种公开清单", code="register_kind_not_found") from None


def _version_out(v: RegisterVersion, item: public.PublicItem) -> PublicVersionOut:
    return PublicVersionOut(version=v.version, title=v.title, effective_from=v.effective_from,
                            in_effect=item.in_effect is not None and item.in_effect.id == v.id,
                            published_at=v.published_at, retirement=v.retirement,
                            retirement_reason=v.retirement_reason, content=v.content, leaf_index=item.leaves.get(v.id))


def _item_out(item: public.PublicItem) -> PublicItemOut:
    shown = item.in_effect or item.versions[0]
    return PublicItemOut(code=item.code, title=shown.title,
                         in_effect_version=item.in_effect.version if item.in_effect else None,
                         versions=[_version_out(v, item) for v in item.versions])


async def _agency(call: Call[Any, Any]) -> tuple[Agency, PublicAgencyOut]:
    agency = await public.agency(call.path_uuid("agency_id"))
    today = call.request.app[CLOCK].today()
    own = await public.own_register(agency.id, today)
    counts = await public.counts(agency.id, today)
    return agency, PublicAgencyOut(
        id=agency.id, name=agency.name, credit_code=agency.credit_code, region=agency.region,
        qualification=_version_out(own.in_effect, own) if own and own.in_effect else None,
        qualification_versions=[{"version": v.version, "effective_from": v.effective_from.isoformat(),
                            "in_effect": own.in_effect is not None and v.id == own.in_effect.id}
                           for v in own.versions] if own else [],
        registers=[RegisterSummary(kind=k, kind_name=KIND_WORDS[k], items=counts[k],
                                   url=f"/mp/v1/agencies/{agency.id}/registers/{k.value}")
                   for k in RegisterKind if k is not RegisterKind.AGENCY])


async def _register(call: Call[None, PublicRegisterQuery]) -> PublicRegisterPage:
    kind = _kind(call.path["kind"])
    agency = await public.agency(call.path_uuid("agency_id"))
    q = call.query
    rows, total = await public.items(agency.id, kind, call.request.app[CLOCK].today(), page=q.page,
                                     page_size=q.page_size)
    return PublicRegisterPage(agency_id=agency.id, agency_name=agency.name, kind=kind, kind_name=KIND_WORDS[kind],
                              items=[_item_out(r) for r in rows], page=q.page, page_size=q.page_size, total=total)


@routes.route("GET", "/mp/v1/agencies/{agency_id}", access=PUBLIC, tag="public", response=PublicAgencyOut,
              errors=(404,), limit=REGISTERS,
              summary="执法机关的公开信息：今天生效的行政执法主体资格及各公开清单（权责清单、随机抽查事项、"
                      "服务指南、流程图、受委托组织）")
async def agency_json(call: Call[None, None]) -> PublicAgencyOut:
    return (await _agency(call))[1]


@routes.route("GET", "/mp/v1/agencies/{agency_id}/registers/{kind}", access=PUBLIC, tag="public",
              query=PublicRegisterQuery, response=PublicRegisterPage, errors=(404, 422), limit=REGISTERS,
              summary="执法机关的一种公开清单（kind：agency 主体资格、entrusted_org 受委托组织、power 权责清单、"
                      "inspection_item 随机抽查事项、service_guide 服务指南、flowchart 执法流程图），"
                      "只含已公开版本及其生效日期")
async def register_json(call: Call[None, PublicRegisterQuery]) -> PublicRegisterPage:
    return await _register(call)


# -- H5 pages ---------------------------------------------------------------------------------------

_STYLE = ("body{margin:0;font-family:-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;background:#f2f3f5;"
          "color:#1d2129;line-height:1.6}main{max-width:640px;margin:0 auto;padding:12px}"
          "section{background:#fff;border-radius:10px;padding:16px;margin:0 0 12px}h1{font-size:20px;margin:0 0 8px}"
          "h2{font-size:17px;margin:0 0 8px}dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}"
          "dt{color:#5c6370}dd{margin:0;word-break:break-word;white-space:pre-wrap}.muted{color:#86909c;font-size:14px}"
          ".tag{display:inline-block;padding:0 8px;border-radius:10px;background:#165dff;color:#fff;font-size:13px}")


def _page(title: str, body: str) -> web.Response:
    return web.Response(text=pages.document(title, _STYLE, body), content_type="text/html", charset="utf-8",
                        headers=pages.HEADERS)


def _value(key: str, value: Any) -> str:
    if key == "power_type":
        return escape(POWER_TYPE_WORDS.get(str(value), str(value)))
    if isinstance(value, dict):
        return _fields(value)
    if isinstance(value, list):
        tag = "ol" if key == "steps" else "ul"
        return f"<{tag}>" + "".join(f"<li>{_value(key, v)}</li>" for v in value) + f"</{tag}>"
    return escape(str(value))


def _fields(content: dict[str, Any]) -> str:
    rows = "".join(f"<dt>{escape(FIELD_WORDS.get(k, k))}</dt><dd>{_value(k, v)}</dd>"
                   for k, v in content.items() if v not in ("", None, []))
    return f"<dl>{rows}</dl>"


def _version_line(v: PublicVersionOut) -> str:
    if v.retirement:
        return f"第{v.version}版：自 {v.effective_from:%Y-%m-%d} 起停止公开（{escape(v.retirement_reason)}）"
    return f"第{v.version}版，{v.effective_from:%Y-%m-%d} 起生效"


def _version_block(v: PublicVersionOut) -> str:
    if v.retirement:
        return f"<p class='muted'>{_version_line(v)}</p>"
    state = "<span class='tag'>现行有效</span> " if v.in_effect else ""
    return (f"<p class='muted'>{state}第{v.version}版，{v.effective_from:%Y-%m-%d} 起生效"
            + (f"，{v.published_at:%Y-%m-%d} 公开" if v.published_at else "") + "</p>" + _fields(v.content))


@routes.route("GET", "/a/{agency_id}", access=PUBLIC, tag="public", produces="text/html", errors=(404,),
              limit=REGISTERS, summary="H5 执法机关公开页：行政执法主体资格与各公开清单的入口")
async def agency_page(call: Call[None, None]) -> web.Response:
    agency, out = await _agency(call)
    facts = (_version_block(out.qualification) if out.qualification
             else "<p class='muted'>本机关的行政执法主体资格尚未公开。</p>")
    links = "".join(f"<li><a href='/a/{agency.id}/registers/{r.kind.value}'>{escape(r.kind_name)}</a>"
                    f"（{r.items} 项）</li>" for r in out.registers)
    years = "".join(f"<li><a href='/s/{y}?agency={agency.id}'>{y}年度统计年报</a></li>"
                    for y in await statistics.published_years(agency.id))
    reports = f"<ul id='statistics'>{years}</ul>" if years else "<p class='muted'>本机关尚未公开统计年报。</p>"
    return _page(f"{agency.name} · 执法公开", (
        f"<section><h1>{escape(agency.name)}</h1><p>统一社会信用代码：{escape(agency.credit_code)}</p></section>"
        f"<section id='register'><h2>行政执法主体资格</h2>{facts}</section>"
        f"<section><h2>公开清单</h2><ul id='registers'>{links}</ul></section>"
        f"<section><h2>统计年报</h2>{reports}</section>"))


@routes.route("GET", "/a/{agency_id}/registers/{kind}", access=PUBLIC, tag="public", produces="text/html",
              query=PublicRegisterQuery, errors=(404, 422), limit=REGISTERS,
              summary="H5 执法机关的一种公开清单（现行版本及历次公开版本的生效日期）")
async def register_page(call: Call[None, PublicRegisterQuery]) -> web.Response:
    out = await _register(call)
    blocks = []
    for item in out.items:
        current = next((v for v in item.versions if v.in_effect), None)
        shown = current or next((v for v in item.versions if not v.retirement), item.versions[0])
        older = "".join(f"<li>{_version_line(v)}</li>" for v in item.versions if v is not shown)
        blocks.append(f"<section class='item'><h2>{escape(item.title)}</h2>{_version_block(shown)}"
                      + (f"<p class='muted'>其他公开版本：</p><ul>{older}</ul>" if older else "") + "</section>")
    more = ""
    if out.page * out.page_size < out.total:
        more = (f"<p><a href='/a/{out.agency_id}/registers/{out.kind.value}?page={out.page + 1}"
                f"&page_size={out.page_size}'>下一页</a></p>")
    empty = "" if blocks else "<section><p class='muted'>暂无已公开的事项。</p></section>"
    return _page(f"{out.agency_name} · {out.kind_name}", (
        f"<section><h1>{escape(out.kind_name)}</h1><p><a href='/a/{out.agency_id}'>{escape(out.agency_name)}</a>"
        f"，共 {out.total} 项</p></section>" + "".join(blocks) + empty + more))
