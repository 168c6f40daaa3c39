"""The published catalogue of major enforcement decisions of an agency (重大执法决定目录清单, R-L1)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from backend.app_keys import CLOCK
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.models.enums import CaseType, Measure, PartyKind
from backend.services.ratelimit import DECISIONS
from backend.services.review import catalogue

routes = RouteTable()


class PublicThreshold(BaseModel):
    case_type: CaseType
    measure: Measure | None
    party_kind: PartyKind | None
    min_amount: Decimal


class PublicCriteria(BaseModel):
    case_types: list[CaseType]
    amount_thresholds: list[PublicThreshold]
    licence_revocation: bool
    business_suspension: bool
    hearing_held: bool
    public_interest: bool
    complex_case: bool
    multi_party: bool
    major_rights: bool


class PublicCatalogueVersion(BaseModel):
    version: int
    effective_from: date
    in_effect: bool
    criteria: PublicCriteria
    reasons: list[str] = Field(description="各项标准的中文说明")
    note: str
    published_at: datetime


class PublicCatalogue(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "agency_name": "杭州市西湖区市场监督管理局",
        "in_effect_version": 1, "versions": [{
            "version": 1, "effective_from": "2026-12-01", "in_effect": True,
            "criteria": {"case_types": [], "amount_thresholds": [
                {"case_type": "penalty", "measure": "fine", "party_kind": "person", "min_amount": "10000.00"}],
                "licence_revocation": True, "business_suspension": True, "hearing_held": True,
                "public_interest": False, "complex_case": False, "multi_party": False, "major_rights": False},
            "reasons": ["行政处罚罚款金额达到10000.00元（自然人）", "拟吊销许可证件", "拟责令停产停业", "经过听证程序"],
            "note": "", "published_at": "2026-11-20T09:30:00+08:00"}]}]})

    agency_id: uuid.UUID
    agency_name: str
    in_effect_version: int | None
    versions: list[PublicCatalogueVersion]


@routes.route("GET", "/mp/v1/agencies/{agency_id}/major-catalogue", access=PUBLIC,
              summary="执法机关公开的重大执法决定目录清单（全部版本及生效日期）", tag="public",
              response=PublicCatalogue, errors=(404,), limit=DECISIONS)
async def public_catalogue(call: Call[None, None]) -> PublicCatalogue:
    agency = await catalogue.public_agency(call.path_uuid("agency_id"))
    rows = await catalogue.versions(agency.id)
    current = await catalogue.in_effect(agency.id, call.request.app[CLOCK].today())
    return PublicCatalogue(agency_id=agency.id, agency_name=agency.name,
                           in_effect_version=current.version if current else None, versions=[
                               PublicCatalogueVersion(version=r.version, effective_from=r.effective_from,
                                                      in_effect=current is not None and current.id == r.id,
                                                      criteria=PublicCriteria.model_validate(r.criteria),
                                                      reasons=catalogue.describe(r.criteria), note=r.note,
                                                      published_at=r.created_at) for r in rows])
