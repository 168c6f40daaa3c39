"""Responsibility (R-L5): who submitted, who reviewed each round, who approved, and whether the
approver departed from the review opinion -- read from the reviews and the decisions' audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from backend.models import AuditEvent, Case, Decision, LegalReview
from backend.models.enums import ReviewLevel, ReviewStatus
from backend.services.cases import get_case
from backend.services.review.reviews import passed


@dataclass(frozen=True)
class Approver:
    name: str
    via: str  # review | head_decision
    level: ReviewLevel
    at: datetime | None


@dataclass(frozen=True)
class DecisionMaker:
    decision_id: uuid.UUID
    document_no: str
    registered_by_name: str
    review_id: uuid.UUID | None


@dataclass(frozen=True)
class Responsibility:
    case: Case
    rounds: list[LegalReview]
    approved_by: list[Approver]
    departed_from_opinion: bool | None
    decisions: list[DecisionMaker]


async def of_case(scope: uuid.UUID | None, case_id: uuid.UUID) -> Responsibility:
    case = await get_case(scope, case_id)
    rounds = await LegalReview.filter(case_id=case.id).order_by("round", "level", "submitted_at")
    latest = max((r.round for r in rounds if r.level is ReviewLevel.AGENCY), default=None)
    approved: list[Approver] = []
    departed: bool | None = None
    for r in rounds:
        if r.round != latest or not passed(r):
            continue
        if r.status is ReviewStatus.HEAD_DECIDED:
            approved.append(Approver(r.head_name, "head_decision", r.level, r.head_decided_at))
            departed = bool(departed) or bool(r.head_departed_from_opinion)
        else:
            approved.append(Approver(r.reviewer_name, "review", r.level, r.reviewed_at))
            departed = bool(departed)
    decisions = await Decision.filter(case_id=case.id).order_by("created_at")
    authors = {e["target_id"]: e["actor_name"] for e in await AuditEvent.filter(
        action="decision.create", target_id__in=[str(d.id) for d in decisions]).values("target_id", "actor_name")}
    return Responsibility(case, rounds, approved, departed,
                          [DecisionMaker(d.id, d.document_no, authors.get(str(d.id), ""), d.review_id)
                           for d in decisions])
