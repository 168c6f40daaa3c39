"""The published annual statistics (统计年报, R-P6): each agency's latest published report of a year,
as JSON for the mini-program and as an H5 page for any browser. Counts and sums only; drafts and
submitted-but-unpublished versions never appear here."""

from __future__ import annotations

import uuid
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from backend.app_keys import CLOCK
from backend.clock import SHANGHAI
from backend.errors import NotFound
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import PageQuery
from backend.http.statistics_schemas import FIGURES_EXAMPLE, FiguresOut
from backend.models.enums import CaseType, Measure, RemedyKind, RemedyOutcome
from backend.services import remedies, statistics
from backend.services.ratelimit import DECISIONS
from backend.services.review.catalogue import MEASURE_WORDS, TYPE_WORDS
from miniprogram_api import pages

routes = RouteTable()


class PublicStatisticsQuery(PageQuery):
    agency: uuid.UUID | None = Field(None, description="只看该机关的统计年报")


class PublicStatisticsOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    year: int
    version: int = Field(description="公开的版本")
    published_at: datetime
    corrected: bool = Field(description="true：此前公开过的版本已被更正")
    corrections: int = Field(description="此前公开过、已被更正的版本数")
    figures: FiguresOut


class PublicStatisticsPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "agency_name": "杭州市西湖区市场监督管理局",
        "year": 2025, "version": 1, "published_at": "2026-01-20T10:00:00+08:00", "corrected": False,
        "corrections": 0, "figures": FIGURES_EXAMPLE}], "page": 1, "page_size": 20, "total": 1}]})

    items: list[PublicStatisticsOut]
    page: int
    page_size: int
    total: int


@routes.route("GET", "/mp/v1/statistics/{year}", access=PUBLIC, tag="public", query=PublicStatisticsQuery,
              response=PublicStatisticsPage, errors=(422,), limit=DECISIONS,
              summary="已公开的统计年报（各机关该年度按执法类别的数字、金额、行政复议和诉讼及结果；按机关名称排序）")
async def published_statistics(call: Call[None, PublicStatisticsQuery]) -> PublicStatisticsPage:
    return await _published(call)


async def _published(call: Call[None, PublicStatisticsQuery]) -> PublicStatisticsPage:
    q = call.query
    year = statistics.parse_year(call.path.get("year", ""), call.request.app[CLOCK])
    rows, total = await statistics.published(year, agency_id=q.agency, page=q.page, page_size=q.page_size)
    items = []
    for r in rows:
        assert r.version.published_at is not None  # only published versions are listed
        items.append(PublicStatisticsOut(agency_id=r.agency_id, agency_name=r.agency_name, year=r.year,
                                     version=r.version.version, published_at=r.version.published_at,
                                     corrected=r.corrections > 0, corrections=r.corrections,
                                     figures=FiguresOut.model_validate(r.version.figures)))
    return PublicStatisticsPage(items=items, page=q.page, page_size=q.page_size, total=total)


# -- the H5 page ------------------------------------------------------------------------------------

AMOUNT_WORDS = {"fine": "罚款", "confiscation": "没收", "fine_and_confiscation": "罚款并没收", "other": "其他"}
_WORD_COLUMNS = frozenset({"处理措施", "结果"})
_STYLE = ("body{margin:0;font-family:-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;background:#f2f3f5;"
          "color:#1d2129;line-height:1.6}main{max-width:720px;margin:0 auto;padding:12px}"
          "section{background:#fff;border-radius:10px;padding:16px;margin:0 0 12px}h1{font-size:20px;margin:0 0 8px}"
          "h2{font-size:17px;margin:0 0 4px}h3{font-size:15px;margin:14px 0 6px}"
          ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}"
          "th,td{border-bottom:1px solid #e5e6eb;padding:4px 6px;text-align:right;white-space:nowrap}"
          "th:first-child,th.words,td.words{text-align:left}td.words{white-space:normal}"
          "tr.total th,tr.total td{font-weight:600}"
          ".muted{color:#86909c;font-size:14px}")
_TYPES = [(t.value, TYPE_WORDS[t]) for t in CaseType] + [("total", "合计")]


def _yuan(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def _listed(counts: dict[str, int], words: dict[str, str]) -> str:
    """The non-zero counts in words ("罚款 3、警告 1"), or a dash."""
    return "、".join(f"{words[k]} {n}" for k, n in counts.items() if n) or "—"


def _table(head: list[str], figures: FiguresOut, cells: Any) -> str:
    """One row per enforcement type and the total; ``cells(type_figures)`` gives a row's cells."""
    rows = []
    for key, word in _TYPES:
        part = figures.total if key == "total" else figures.by_type[CaseType(key)]
        css = " class='total'" if key == "total" else ""
        rows.append(f"<tr{css}><th scope='row'>{escape(word)}</th>{''.join(cells(part))}</tr>")
    ths = "".join(f"<th scope='col'{' class=words' if h in _WORD_COLUMNS else ''}>{escape(h)}</th>"
                  for h in ["执法类别", *head])
    return f"<div class='scroll'><table><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _num(n: int) -> str:
    return f"<td>{n:,}</td>"


def _remedy_cells(kind: RemedyKind) -> Any:
    outcome_words = {o.value: w for o, w in remedies.OUTCOME_WORDS.items()}

    def cells(t: Any) -> list[str]:
        counted = getattr(t, kind.value)
        outcomes = {RemedyOutcome(o).value: n for o, n in counted.outcomes.items()}
        return [_num(counted.count), f"<td class='words'>{escape(_listed(outcomes, outcome_words))}</td>"]
    return cells


def _agency_block(r: PublicStatisticsOut) -> str:
    f = r.figures
    measure_words = {m.value: w for m, w in MEASURE_WORDS.items()}
    corrected = f"，更正过 {r.corrections} 次（显示最新公开的版本）" if r.corrections else ""
    return (
        f"<section class='agency' id='agency-{r.agency_id}'><h2><a href='/a/{r.agency_id}'>{escape(r.agency_name)}</a>"
        f"</h2><p class='muted'>第{r.version}版，{r.published_at.astimezone(SHANGHAI):%Y-%m-%d} 公开{corrected}</p>"
        "<h3>立案、决定与金额</h3>"
        + _table(["立案（件）", "决定（件）", "金额（元）"], f,
                 lambda t: [_num(t.cases), _num(t.decisions), f"<td>{_yuan(t.amount_fen)}</td>"])
        + "<h3>金额构成（元）</h3>"
        + _table(list(AMOUNT_WORDS.values()), f,
                 lambda t: [f"<td>{_yuan(getattr(t.amounts_fen, k))}</td>" for k in AMOUNT_WORDS])
        + "<p class='muted'>罚款并没收：同一决定既罚款又没收、只登记了一个金额，无法拆分。</p>"
        + "<h3>决定中的处理措施（次）</h3>"
        + _table(["处理措施"], f, lambda t: [
            f"<td class='words'>{escape(_listed({Measure(m).value: n for m, n in t.measures.items()}, measure_words))}"
            "</td>"])
        + "".join(f"<h3>{escape(word)}</h3>" + _table(["件数", "结果"], f, _remedy_cells(kind))
                  for kind, word in remedies.KIND_WORDS.items())
        + "</section>")


def _link(year: int, agency: uuid.UUID | None, **more: int) -> str:
    params = {**({"agency": str(agency)} if agency else {}), **{k: str(v) for k, v in more.items()}}
    return f"/s/{year}" + (f"?{urlencode(params)}" if params else "")


@routes.route("GET", "/s/{year}", access=PUBLIC, tag="public", query=PublicStatisticsQuery, produces="text/html",
              errors=(404, 422), limit=DECISIONS,
              summary="H5 统计年报公开页：该年度已公开的各机关统计年报（按执法类别的立案、决定、金额、处理措施，"
                      "行政复议和行政诉讼的件数及结果）；尚未公开时为 404 页面")
async def statistics_page(call: Call[None, PublicStatisticsQuery]) -> web.Response:
    out, q = await _published(call), call.query
    year = int(call.path["year"])
    if out.total == 0:
        who = "该机关" if q.agency else "各机关"
        raise NotFound(f"{who}{year}年度的统计年报尚未公开。统计年报于次年1月15日前报送执法监督机构、"
                       f"1月31日前向社会公开，请届时再来查看。", code="statistics_not_published")
    years = await statistics.published_years(q.agency)
    others = "、".join(f"<a href='{escape(_link(y, q.agency))}'>{y}年度</a>" for y in years if y != year)
    blocks = "".join(_agency_block(r) for r in out.items) or "<section><p>本页没有内容。</p></section>"
    more = ""
    if out.page * out.page_size < out.total:
        nxt = _link(year, q.agency, page=out.page + 1, page_size=out.page_size)
        more = f"<p><a id='next' href='{escape(nxt)}'>下一页</a></p>"
    scope = (f"<p><a href='/s/{year}'>查看{year}年度全部机关的统计年报</a></p>" if q.agency
             else f"<p>共 {out.total} 个执法机关公开了{year}年度的统计年报，按机关名称排列。</p>")
    head = (
        f"<section><h1>{year}年度行政执法统计年报</h1>{scope}"
        "<p class='muted'>立案按立案时间、决定按决定日期、行政复议和行政诉讼按申请（起诉）日期计入年度（北京时间）；"
        "复议、诉讼的结果为该版本报送时登记的结果。只含件数和金额，不含当事人信息。</p>"
        + (f"<p>其他年度：{others}</p>" if others else "") + "</section>")
    title = f"{out.items[0].agency_name} · " if q.agency and out.items else ""
    html = pages.document(f"{title}{year}年度统计年报", _STYLE, head + blocks + more)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=pages.HEADERS)
