"""The published annual statistics (统计年报, R-P6): each agency's latest published report of a year.
Counts and sums only; drafts and submitted-but-unpublished versions never appear here."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.app_keys import CLOCK
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import PageQuery
from backend.http.statistics_schemas import FIGURES_EXAMPLE, FiguresOut
from backend.services import statistics
from backend.services.ratelimit import DECISIONS

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
