"""What the public may see of a decision (R-P3): the masked text of the latest version, the
history of corrections, and for a withdrawn decision only that and why it was withdrawn."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from backend.errors import NotFound
from backend.models import Agency, Decision, DecisionVersion
from backend.models.enums import CaseType, DecisionStatus, DecisionVersionKind


@dataclass(frozen=True)
class PublicVersion:
    version: int
    kind: DecisionVersionKind
    at: datetime
    reason: str


@dataclass(frozen=True)
class PublicDecision:
    id: uuid.UUID
    agency_name: str
    type: CaseType
    document_no: str
    decided_at: date
    status: DecisionStatus
    party: str
    text: str | None  # None once withdrawn: it leaves public view
    published_at: datetime | None
    history: list[PublicVersion]


async def public_decision(decision_id: uuid.UUID) -> PublicDecision:
    decision = await Decision.filter(id=decision_id).exclude(status=DecisionStatus.DRAFT).first()
    if decision is None:
        raise NotFound("未找到该公示决定", code="decision_not_found")
    versions = await DecisionVersion.filter(decision_id=decision.id).order_by("version")
    agency = await Agency.get(id=decision.agency_id).values("name")
    latest_text = next((v.public_text for v in reversed(versions) if v.kind is not DecisionVersionKind.WITHDRAW),
                       None)
    withdrawn = decision.status is DecisionStatus.WITHDRAWN
    return PublicDecision(
        id=decision.id, agency_name=agency["name"], type=decision.type, document_no=decision.document_no,
        decided_at=decision.decided_at, status=decision.status, party=decision.public_party_name,
        text=None if withdrawn else latest_text, published_at=decision.published_at,
        history=[PublicVersion(v.version, v.kind, v.created_at, v.reason) for v in versions],
    )
