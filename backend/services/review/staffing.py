"""Staffing (R-L6): legal reviewers are at least ``YANGGUANG_REVIEWER_RATIO_PERCENT`` (default 5) of an
agency's enforcement officers, and at least one. The agency files its roster (法制审核人员信息表)
with the supervisor (``file_roster``: a snapshot, by whom and when); the supervisor's view shows the
reviewers in post today, the last filing, and whether the two still agree."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from backend.clock import Clock
from backend.models import Agency, Officer, ReviewerRosterFiling
from backend.models.enums import AgencyKind, OfficerKind, OfficerStatus
from backend.services import audit
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
    filing: ReviewerRosterFiling | None = None  # the last roster filed with the supervisor
    filing_current: bool = False  # the filed roster names exactly the reviewers in post today


async def _in_post(agency_id: uuid.UUID) -> tuple[int, list[Reviewer]]:
    mine = await Officer.filter(agency_id=agency_id, status=OfficerStatus.ACTIVE).order_by("name", "id").values(
        "id", "name", "unit", "kind", "is_legal_reviewer")
    enforcement = sum(1 for o in mine if o["kind"] == OfficerKind.ENFORCEMENT)
    return enforcement, [Reviewer(o["id"], o["name"], o["unit"]) for o in mine if o["is_legal_reviewer"]]


async def file_roster(agency_id: uuid.UUID, actor: str, clock: Clock) -> ReviewerRosterFiling:
    """File today's roster of legal reviewers with the supervisor: a snapshot, never changed later."""
    enforcement, reviewers = await _in_post(agency_id)
    name, role = audit.who(actor)
    filing = await ReviewerRosterFiling.create(
        agency_id=agency_id, filed_at=clock.now(), enforcement_officers=enforcement,
        reviewers=[{"officer_id": str(r.officer_id), "name": r.name, "unit": r.unit} for r in reviewers],
        actor=actor, actor_name=name, actor_role=role)
    await audit.record(actor, "reviewer_roster.file", "agency", agency_id, agency_id=agency_id,
                       data={"filing": filing.id, "reviewers": len(reviewers), "enforcement_officers": enforcement})
    return filing


async def latest_filing(agency_id: uuid.UUID) -> ReviewerRosterFiling | None:
    return await ReviewerRosterFiling.filter(agency_id=agency_id).order_by("-filed_at", "-id").first()


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
        filing = await latest_filing(agency.id)
        current = filing is not None and {r["officer_id"] for r in filing.reviewers} == {
            str(r.officer_id) for r in reviewers}
        rows.append(Staffing(agency.id, agency.name, enforcement, len(reviewers),
                             round(100 * len(reviewers) / enforcement, 2) if enforcement else 0.0,
                             percent, need, len(reviewers) >= need, reviewers, filing, current))
    rows.sort(key=lambda r: r.meets)
    return rows
