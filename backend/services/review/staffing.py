"""Staffing (R-L6): legal reviewers are at least ``YANGGUANG_REVIEWER_RATIO_PERCENT`` (default 5) of an
agency's enforcement officers, and at least one. The roster the supervisor sees is the agency's
officers in post marked ``is_legal_reviewer`` (法制审核人员信息表)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from backend.models import Agency, Officer
from backend.models.enums import AgencyKind, OfficerKind, OfficerStatus
from backend.settings import Settings


@dataclass(frozen=True)
class Reviewer:
    officer_id: uuid.UUID
    name: str
    unit: str


@dataclass(frozen=True)
class Staffing:
    agency_id: uuid.UUID
    agency_name: str
    enforcement_officers: int
    legal_reviewers: int
    ratio_percent: float
    required_percent: int
    required_reviewers: int
    meets: bool
    reviewers: list[Reviewer]


def required(enforcement_officers: int, percent: int) -> int:
    """At least ``percent`` of the enforcement officers, rounded up, and never fewer than one."""
    return max(1, math.ceil(enforcement_officers * percent / 100))


async def reviewer_ratio(settings: Settings) -> list[Staffing]:
    """Every enforcing agency (supervising bodies excluded), those falling short first."""
    agencies = await Agency.exclude(kind=AgencyKind.SUPERVISOR).order_by("name", "id")
    active = await Officer.filter(status=OfficerStatus.ACTIVE, agency_id__in=[a.id for a in agencies]).values(
        "id", "agency_id", "name", "unit", "kind", "is_legal_reviewer")
    rows = []
    for agency in agencies:
        mine = [o for o in active if o["agency_id"] == agency.id]
        enforcement = sum(1 for o in mine if o["kind"] == OfficerKind.ENFORCEMENT)
        reviewers = [Reviewer(o["id"], o["name"], o["unit"]) for o in mine if o["is_legal_reviewer"]]
        percent = agency.reviewer_ratio_percent or settings.reviewer_ratio_percent
        need = required(enforcement, percent)
        rows.append(Staffing(agency.id, agency.name, enforcement, len(reviewers),
                             round(100 * len(reviewers) / enforcement, 2) if enforcement else 0.0,
                             percent, need, len(reviewers) >= need, reviewers))
    rows.sort(key=lambda r: r.meets)
    return rows
