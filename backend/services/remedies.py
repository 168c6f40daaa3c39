"""Reconsiderations (行政复议) and lawsuits (行政诉讼) against a case or its decision, as the agency
records them: the filing, then each outcome, every one a new append-only entry with its
transparency-log leaf and its audit entry (who recorded it). The annual statistics count them
(``services/statistics.py``).

A proceeding is its entries in order; its outcome is its last entry's. An outcome decides a pending
proceeding; an appeal or a retrial (上诉、再审) reopens a decided one (REMEDY table in
``services/states.py``). Registering that a published decision was revoked, confirmed illegal or
ordered remade starts the 3-working-day withdrawal clock (``POST /api/v1/decisions/{id}/revocations``);
an outcome recorded here that revokes or confirms illegal a decision still on public display
registers that revocation too, in the same transaction (``REVOKING``), so the clock cannot be forgotten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import NotFound, ValidationFailed
from backend.models import Case, CaseRemedy, Decision, DecisionRevocation
from backend.models.enums import LeafKind, RemedyKind, RemedyOutcome, RemedyState, RevocationReason
from backend.services import audit, decisions
from backend.services.cases import get_case
from backend.services.states import REMEDY
from backend.services.transparency import log

KIND_WORDS = {RemedyKind.RECONSIDERATION: "行政复议", RemedyKind.LITIGATION: "行政诉讼"}
OUTCOME_WORDS = {
    RemedyOutcome.PENDING: "审理中", RemedyOutcome.UPHELD: "维持", RemedyOutcome.REVOKED: "撤销",
    RemedyOutcome.CHANGED: "变更", RemedyOutcome.CONFIRMED_ILLEGAL: "确认违法",
    RemedyOutcome.CONFIRMED_INVALID: "确认无效", RemedyOutcome.ORDERED_TO_PERFORM: "责令履行",
    RemedyOutcome.DISMISSED: "驳回申请或起诉", RemedyOutcome.WITHDRAWN: "撤回申请或撤诉",
    RemedyOutcome.MEDIATED: "调解或和解", RemedyOutcome.OTHER: "其他"}


# Outcomes that take a decision out of force, and the revocation (R-P3) each registers: each under its
# own reason, so the record, the public withdrawal and the parties say what the authority found.
REVOKING = {RemedyOutcome.REVOKED: RevocationReason.REVOKED,
            RemedyOutcome.CONFIRMED_ILLEGAL: RevocationReason.CONFIRMED_ILLEGAL,
            RemedyOutcome.CONFIRMED_INVALID: RevocationReason.CONFIRMED_INVALID}


def state_of(outcome: RemedyOutcome) -> RemedyState:
    return RemedyState.PENDING if outcome is RemedyOutcome.PENDING else RemedyState.DECIDED


@dataclass(frozen=True)
class RemedyInput:
    outcome: RemedyOutcome
    proceeding_id: uuid.UUID | None = None  # None: a new proceeding (its filing)
    kind: RemedyKind | None = None  # a new proceeding's; a later entry's must match if given
    decision_id: uuid.UUID | None = None
    filed_on: date | None = None
    decided_on: date | None = None
    authority: str = ""
    document_no: str = ""
    note: str = ""


def leaf_content(row: CaseRemedy) -> dict[str, Any]:
    """What the transparency log commits to for an entry: every field it is written with."""
    return {"type": "remedy", "id": str(row.id), "agency_id": str(row.agency_id), "case_id": str(row.case_id),
            "decision_id": str(row.decision_id) if row.decision_id else None,
            "proceeding_id": str(row.proceeding_id), "seq": row.seq, "kind": row.kind.value,
            "outcome": row.outcome.value, "filed_on": row.filed_on.isoformat(),
            "decided_on": row.decided_on.isoformat() if row.decided_on else None, "authority": row.authority,
            "document_no": row.document_no, "note": row.note, "actor": row.actor, "actor_name": row.actor_name,
            "actor_role": row.actor_role}


def _check_dates(data: RemedyInput, filed_on: date, today: date) -> None:
    if filed_on > today:
        raise ValidationFailed("申请复议或起诉的日期不能晚于今天", code="remedy_date_in_future")
    if data.outcome is RemedyOutcome.PENDING:
        if data.decided_on is not None:
            raise ValidationFailed("审理中的复议或诉讼没有结果日期：请去掉 decided_on，或填写结果",
                                   code="remedy_pending_has_date")
        return
    if data.decided_on is None:
        raise ValidationFailed("登记复议或诉讼结果时须填写结果文书的日期（decided_on）",
                               code="remedy_decided_on_required")
    if data.decided_on > today:
        raise ValidationFailed("结果文书的日期不能晚于今天", code="remedy_date_in_future")
    if data.decided_on < filed_on:
        raise ValidationFailed("结果文书的日期不能早于申请复议或起诉的日期", code="remedy_decided_before_filed")


@dataclass(frozen=True)
class Recorded:
    entry: CaseRemedy
    revocation: DecisionRevocation | None  # registered by this entry's outcome (see REVOKING)


async def record(agency_id: uuid.UUID, case_id: uuid.UUID, data: RemedyInput, actor: str,
                 clock: Clock) -> Recorded:
    """Append one entry: a new proceeding when ``proceeding_id`` is None, otherwise the next outcome
    of that proceeding of this case."""
    case = await get_case(agency_id, case_id)
    today = clock.today()
    async with in_transaction():
        case = await Case.filter(id=case.id).select_for_update().get()  # entries of a case, one at a time
        if data.proceeding_id is None:
            row = await _first_entry(case, data, today, actor)
        else:
            row = await _next_entry(case, data.proceeding_id, data, today, actor)
        await log.append_row(row, LeafKind.REMEDY, leaf_content(row), agency_id=case.agency_id,
                             ref=f"{case.id}:{row.proceeding_id}:{row.seq}")
        await audit.record(actor, "case.remedy", "case", case.id, agency_id=case.agency_id,
                           data={"remedy_id": str(row.id), "proceeding_id": str(row.proceeding_id), "seq": row.seq,
                                 "kind": row.kind.value, "outcome": row.outcome.value})
        revocation = await _revocation_by(row, actor, clock)
    return Recorded(row, revocation)


async def _revocation_by(row: CaseRemedy, actor: str, clock: Clock) -> DecisionRevocation | None:
    """The decision this outcome takes out of force, if it is still public and not yet revoked: its
    withdrawal clock starts from the outcome's date."""
    reason = REVOKING.get(row.outcome)
    if reason is None or row.decision_id is None or row.decided_on is None:
        return None
    decision = await Decision.filter(id=row.decision_id).select_for_update().get()
    if await decisions.revocation_refused(decision) is not None:
        return None  # not on display (nothing to withdraw), or its withdrawal is already running
    basis = "".join(part for part in (KIND_WORDS[row.kind], row.authority, row.document_no) if part)
    return await decisions.register_revocation(decision, reason, row.decided_on, basis[:500], actor, clock.now())


def _entry(case: Case, actor: str, **fields: Any) -> CaseRemedy:
    name, role = audit.who(actor)
    return CaseRemedy(case_id=case.id, agency_id=case.agency_id, actor=actor, actor_name=name, actor_role=role,
                      **fields)


async def _first_entry(case: Case, data: RemedyInput, today: date, actor: str) -> CaseRemedy:
    if data.kind is None:
        raise ValidationFailed("新登记的复议或诉讼须写明种类（kind）", code="remedy_kind_required")
    if data.filed_on is None:
        raise ValidationFailed("新登记的复议或诉讼须写明申请复议或起诉的日期（filed_on）",
                               code="remedy_filed_on_required")
    if not data.authority:
        raise ValidationFailed("新登记的复议或诉讼须写明复议机关或人民法院（authority）",
                               code="remedy_authority_required")
    if data.decision_id is not None:
        decision = await Decision.filter(id=data.decision_id, case_id=case.id).first()
        if decision is None:
            raise NotFound("本案件中未找到该执法决定", code="decision_not_found")
        if data.filed_on < decision.decided_at:
            raise ValidationFailed("申请复议或起诉的日期不能早于被申请的决定日期", code="remedy_filed_before_decision")
    _check_dates(data, data.filed_on, today)
    new_id = uuid.uuid4()
    return _entry(case, actor, id=new_id, proceeding_id=new_id, seq=1, kind=data.kind, outcome=data.outcome,
                  decision_id=data.decision_id, filed_on=data.filed_on, decided_on=data.decided_on,
                  authority=data.authority, document_no=data.document_no, note=data.note)


async def _next_entry(case: Case, proceeding_id: uuid.UUID, data: RemedyInput, today: date,
                      actor: str) -> CaseRemedy:
    entries = await CaseRemedy.filter(case_id=case.id, proceeding_id=proceeding_id).order_by("seq")
    if not entries:
        raise NotFound("本案件中未找到该复议或诉讼", code="remedy_not_found")
    first, last = entries[0], entries[-1]
    for given, kept, field, words in ((data.kind, first.kind, "kind", "种类"),
                                      (data.filed_on, first.filed_on, "filed_on", "申请复议或起诉的日期"),
                                      (data.decision_id, first.decision_id, "decision_id", "被申请的决定")):
        if given is not None and given != kept:
            raise ValidationFailed(f"{words}（{field}）以该复议或诉讼首次登记的为准，不能在后续结果中改变",
                                   code=f"remedy_{field}_mismatch")
    REMEDY.next(state_of(last.outcome), "reopen" if data.outcome is RemedyOutcome.PENDING else "decide")
    _check_dates(data, first.filed_on, today)
    decided = max((e.decided_on for e in entries if e.decided_on is not None), default=None)
    if data.decided_on is not None and decided is not None and data.decided_on < decided:
        raise ValidationFailed("后续结果的日期不能早于此前登记的结果日期", code="remedy_outcome_before_last")
    return _entry(case, actor, proceeding_id=first.proceeding_id, seq=last.seq + 1, kind=first.kind,
                  outcome=data.outcome, decision_id=first.decision_id, filed_on=first.filed_on,
                  decided_on=data.decided_on, authority=data.authority or last.authority,
                  document_no=data.document_no, note=data.note)


async def for_case(agency_id: uuid.UUID | None, case_id: uuid.UUID) -> list[CaseRemedy]:
    """Every entry of a case's proceedings, each proceeding in the order it was filed, then by seq."""
    case = await get_case(agency_id, case_id)
    rows = await CaseRemedy.filter(case_id=case.id).order_by("filed_on", "proceeding_id", "seq")
    return rows
