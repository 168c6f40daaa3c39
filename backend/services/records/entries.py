"""The case record, append-only (R-R1, R-R4): steps are added, never updated or deleted; a mistake
is corrected by a new record naming the one it corrects. Each record becomes a leaf of the
installation's transparency log in the transaction that writes it.

``append`` writes any entry (the service's own entries too: publication, notices); ``add_step`` is
an agency's step, checked against ``steps.STEPS`` first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Case, CaseOfficer, CaseRecord, Credential, Evidence, Officer
from backend.models.enums import (
    CaseStatus,
    CredentialStatus,
    EvidenceKind,
    LeafKind,
    OfficerKind,
    RecordStep,
    ServiceMethod,
    SignatureState,
)
from backend.services import audit
from backend.services.disclosure import history
from backend.services.records import steps
from backend.services.review import catalogue
from backend.services.states import CASE
from backend.services.transparency import log

# A phone's clock may run a little ahead of ours; beyond this, a step "in the future" is a mistake.
FUTURE_SLACK = timedelta(minutes=5)
# Steps that begin the investigation: a case still ``open`` moves to ``investigating`` (CASE table).
_INVESTIGATING = frozenset(step for step, rule in steps.STEPS.items() if rule.field_work)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def leaf_content(row: CaseRecord, agency_id: uuid.UUID) -> dict[str, Any]:
    """What the transparency log commits to for a record: every field the record is written with
    (its row id and ``recorded_at`` are assigned by the database; the leaf carries the time)."""
    return {"type": "case_record", "agency_id": str(agency_id), "case_id": str(row.case_id),
            "seq": row.seq, "step": row.step.value, "occurred_at": _utc(row.occurred_at), "place": row.place,
            "officers": row.officers, "text": row.text, "signature": row.signature.value,
            "signature_note": row.signature_note,
            "service_method": row.service_method.value if row.service_method else None,
            "evidence_ids": row.evidence_ids, "corrects": row.corrects_id, "actor": row.actor,
            "actor_name": row.actor_name, "actor_role": row.actor_role}


async def append(case: Case, step: RecordStep, text: str, actor: str, occurred_at: datetime, *,
                 place: str = "", officers: list[dict[str, Any]] | None = None,
                 signature: SignatureState = SignatureState.NOT_REQUIRED, signature_note: str = "",
                 service_method: ServiceMethod | None = None, evidence_ids: list[str] | None = None,
                 corrects: int | None = None) -> CaseRecord:
    """Append one entry with its transparency-log leaf. The caller holds the case row
    (``select_for_update``) in its transaction, so seq is free and both commit together."""
    last = await CaseRecord.filter(case_id=case.id).order_by("-seq").first().values("seq")
    name, role = audit.who(actor)
    row = CaseRecord(
        case_id=case.id, seq=(last["seq"] + 1) if last else 1, step=step, occurred_at=occurred_at, place=place,
        officers=officers or [], text=text, signature=signature, signature_note=signature_note,
        service_method=service_method, evidence_ids=evidence_ids or [], corrects_id=corrects, actor=actor,
        actor_name=name, actor_role=role)
    await log.append_row(row, LeafKind.CASE_RECORD, leaf_content(row, case.agency_id), agency_id=case.agency_id,
                         ref=f"{case.id}:{row.seq}")
    return row


@dataclass(frozen=True)
class StepInput:
    step: RecordStep
    occurred_at: datetime
    place: str
    officer_ids: list[uuid.UUID]
    credential_shown: bool
    text: str
    party_signature: SignatureState
    refusal_note: str
    evidence_ids: list[uuid.UUID]
    service_method: ServiceMethod | None = None
    corrects: int | None = None


async def _officers_at(case: Case, ids: list[uuid.UUID], at: datetime,
                       shown: bool) -> tuple[list[dict[str, Any]], list[steps.OfficerAtStep]]:
    """The named officers as they were at ``at``: their card then, and whether it was in force."""
    if len(set(ids)) != len(ids):
        raise ValidationFailed("同一执法人员不能重复填写", code="officer_repeated")
    on_case = set(await CaseOfficer.filter(case_id=case.id, officer_id__in=ids).values_list("officer_id", flat=True))
    strangers = [str(i) for i in ids if i not in on_case]
    if strangers:
        raise ValidationFailed("以下人员不是本案的办案人员，请先指派：" + "、".join(strangers),
                               code="officer_not_on_case", details=[{"officer_id": i} for i in strangers])
    people = {o.id: o for o in await Officer.filter(id__in=ids)}
    cards = await Credential.filter(officer_id__in=ids).exclude(status=CredentialStatus.VOID).values(
        "id", "officer_id", "valid_from", "valid_until")
    in_force = await history.valid_at([c["id"] for c in cards], at)
    stored: list[dict[str, Any]] = []
    facts: list[steps.OfficerAtStep] = []
    for oid in ids:
        officer = people[oid]
        theirs = [c for c in cards if c["officer_id"] == oid]
        valid = [c for c in theirs if in_force[c["id"]]]
        card = valid[0] if valid else None
        stored.append({"officer_id": str(oid), "name": officer.name, "kind": officer.kind.value,
                       "certificate_no": officer.certificate_no, "credential_id": str(card["id"]) if card else None,
                       "credential_valid": card is not None, "credential_shown": shown})
        facts.append(steps.OfficerAtStep(officer.name, officer.kind is OfficerKind.ENFORCEMENT, card is not None))
    return stored, facts


async def add_step(case: Case, data: StepInput, actor: str, clock: Clock) -> CaseRecord:
    """An agency's step, checked against the step table, appended in one transaction."""
    if data.occurred_at > clock.now() + FUTURE_SLACK:
        raise ValidationFailed("记录的发生时间不能晚于当前时间", code="occurred_in_future")
    evidence = {e["id"]: EvidenceKind(e["kind"]) for e in await Evidence.filter(
        case_id=case.id, id__in=data.evidence_ids).values("id", "kind")} if data.evidence_ids else {}
    unknown = [str(i) for i in data.evidence_ids if i not in evidence]
    if unknown:
        raise ValidationFailed("以下证据不属于本案：" + "、".join(unknown), code="evidence_not_found",
                               details=[{"evidence_id": i} for i in unknown])
    officers, facts = await _officers_at(case, data.officer_ids, data.occurred_at, data.credential_shown)
    steps.check(data.step, case.type, facts, data.party_signature, data.refusal_note, list(evidence.values()),
                data.service_method)
    async with in_transaction():
        locked = await Case.filter(id=case.id).select_for_update().get()
        if data.corrects is not None:
            if not await CaseRecord.filter(id=data.corrects, case_id=case.id).exists():
                raise NotFound("要更正的记录不属于本案", code="corrected_record_not_found")
        elif locked.status is CaseStatus.CLOSED:
            raise Conflict("该案件已结案，只能添加更正记录", code="case_closed")
        if data.step is RecordStep.CLOSURE:
            locked.status = CASE.next(locked.status, "close")
            await locked.save(update_fields=["status", "updated_at"])
        elif data.step in _INVESTIGATING and "investigate" in CASE.allowed(locked.status):
            locked.status = CASE.next(locked.status, "investigate")
            await locked.save(update_fields=["status", "updated_at"])
        if data.step is RecordStep.HEARING and data.corrects is None:
            await catalogue.hearing_recorded(locked, clock.today())  # a hearing may make the case major
        row = await append(locked, data.step, data.text, actor, data.occurred_at, place=data.place,
                           officers=officers, signature=data.party_signature, signature_note=data.refusal_note,
                           service_method=data.service_method, evidence_ids=[str(i) for i in data.evidence_ids],
                           corrects=data.corrects)
        await audit.record(actor, "case.record", "case", case.id, agency_id=case.agency_id,
                           data={"seq": row.seq, "step": row.step.value})
    return row


@dataclass(frozen=True)
class TimelineEntry:
    record: CaseRecord
    av_recommended_missing: bool  # R-R2: a recommended audio/video record is not attached
    corrected_by: list[int]


async def timeline(case_id: uuid.UUID) -> list[TimelineEntry]:
    rows = await CaseRecord.filter(case_id=case_id).order_by("seq")
    av = {str(e) for e in await Evidence.filter(case_id=case_id, kind=EvidenceKind.AUDIO_VIDEO)
          .values_list("id", flat=True)}
    corrected: dict[int, list[int]] = {}
    for row in rows:
        if row.corrects_id is not None:
            corrected.setdefault(row.corrects_id, []).append(row.id)
    return [TimelineEntry(row, steps.av_expected(row.step, row.service_method) is steps.AV.RECOMMENDED
                          and not (set(row.evidence_ids) & av), corrected.get(row.id, [])) for row in rows]
