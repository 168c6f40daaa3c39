"""A case's full record for supervisors (R-R5): steps, officers, evidence, decision versions,
reviews and notifications, each with its leaf in the transparency log. Every retrieval -- and
every read of an evidence file -- is logged with who, when and which case, and the log itself is
readable by the supervisor and the case's agency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.models import (
    Case,
    CaseParty,
    Decision,
    DecisionVersion,
    Evidence,
    LegalReview,
    LegalReviewEvent,
    Notification,
    Officer,
    RecordAccess,
)
from backend.models.enums import CaseOfficerRole, RecordAccessKind
from backend.services import audit
from backend.services.records import case_officers, entries
from backend.services.scope import scoped


async def log_access(case: Case, kind: RecordAccessKind, actor: str, accessor_agency_id: uuid.UUID | None,
                     evidence_id: uuid.UUID | None = None) -> None:
    name, role = audit.who(actor)
    await RecordAccess.create(case_id=case.id, kind=kind, evidence_id=evidence_id, actor=actor, actor_name=name,
                              actor_role=role, accessor_agency_id=accessor_agency_id)


@dataclass(frozen=True)
class FullRecord:
    case: Case
    parties: list[tuple[str, str]]  # (name, kind): supervisors see who, never contact details
    officers: list[tuple[Officer, CaseOfficerRole]]
    steps: list[entries.TimelineEntry]
    evidence: list[Evidence]
    decisions: list[tuple[Decision, list[DecisionVersion]]]
    reviews: list[tuple[LegalReview, list[LegalReviewEvent]]]  # each round with its events (leaves), in order
    notifications: list[Notification]


async def retrieve(case: Case, actor: str, accessor_agency_id: uuid.UUID | None) -> FullRecord:
    """Everything recorded about the case, as of now; the retrieval is logged first."""
    await log_access(case, RecordAccessKind.FULL_RECORD, actor, accessor_agency_id)
    decisions = await Decision.filter(case_id=case.id).order_by("created_at")
    versions: dict[uuid.UUID, list[DecisionVersion]] = {d.id: [] for d in decisions}
    for v in await DecisionVersion.filter(decision_id__in=list(versions)).order_by("version"):
        versions[v.decision_id].append(v)
    links = await CaseParty.filter(case_id=case.id).prefetch_related("party").order_by("id")
    rounds = await LegalReview.filter(case_id=case.id).order_by("submitted_at", "level")
    events: dict[uuid.UUID, list[LegalReviewEvent]] = {r.id: [] for r in rounds}
    for e in await LegalReviewEvent.filter(review_id__in=list(events)).order_by("id"):
        events[e.review_id].append(e)
    return FullRecord(
        case=case,
        parties=[(link.party.name, link.party.kind.value) for link in links],
        officers=await case_officers.team(case.id),
        steps=await entries.timeline(case.id),
        evidence=await Evidence.filter(case_id=case.id).order_by("created_at", "number"),
        decisions=[(d, versions[d.id]) for d in decisions],
        reviews=[(r, events[r.id]) for r in rounds],
        notifications=await Notification.filter(case_id=case.id).order_by("created_at"),
    )


async def accesses(scope: uuid.UUID | None, case_id: uuid.UUID | None, *, page: int,
                   page_size: int) -> tuple[list[RecordAccess], int]:
    """Retrievals of the agency's cases (every agency's for the supervisor), newest first."""
    query = scoped(RecordAccess.all(), scope, field="case__agency_id")
    if case_id is not None:
        query = query.filter(case_id=case_id)
    total = await query.count()
    rows = await query.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    return rows, total
