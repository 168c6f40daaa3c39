"""Orders to rectify (责令整改, R-X3): the supervising body orders, the agency answers in writing, the
supervising body accepts or returns the answer, and an order still unanswered after its date is
escalated to the government level by a periodic job (``escalate_overdue``).

Who: an order is given by the agency's own supervising body (``Agency.supervised_by``, the
government's 执法监督机构 at the agency's level); a supervisor of another body reads it (supervisors
see every agency) but cannot order, accept or return (409 ``not_supervising_body``). An agency with
no supervising body recorded cannot be ordered (409 ``supervising_body_unknown``). The agency's
admins and head answer; its other staff never see it (readers: ``AGENCY_READERS``), another agency
gets 404.

The government level: the same supervising body, acting for the government (政府督办). The
government-level legal review (``review/reviewers.py``) is tied to the same body, so one word means
one thing. Escalation marks the order ``escalated`` (once: ``escalated_at``), names the body in
``data.escalated_to`` of its step, and puts it first in the body's lists and overdue view.

Texts (the order, the answers, the reasons) may name people: they are stored masked with the
publication rules (``services/masking.py``: the linked case's parties, cue-found names, numbers,
addresses), never raw. Each step is a RectificationEvent: a leaf of the transparency log (text as a
salted digest), an audit entry saying who, in the step's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Agency, Case, Complaint, Evidence, Party, Rectification, RectificationEvent
from backend.models.enums import AgencyKind, LeafKind, RectificationStatus, Role
from backend.services import audit, masking
from backend.services.scope import scoped
from backend.services.states import RECTIFICATION
from backend.services.transparency import log

X = RectificationStatus
ESCALATION = "system:rectification-escalation"  # the actor of the overdue job
AGENCY_READERS = frozenset({Role.ADMIN, Role.HEAD})  # who at the agency reads and answers
OPEN = frozenset({X.ORDERED, X.RETURNED, X.ESCALATED})  # the agency still owes an answer
MAX_DAYS_AHEAD = 366  # an order's date is within a year


def rectification_not_found() -> NotFound:
    return NotFound("未找到该整改事项", code="rectification_not_found")


def digest(salt: str, value: str) -> str:
    return hashlib.sha256(f"{salt}\x00{value}".encode()).hexdigest()


def leaf_content(e: RectificationEvent, r: Rectification) -> dict[str, Any]:
    """What the log commits to for a step: every field it is written with, the text as a digest."""
    return {"type": "rectification_event", "rectification_id": str(r.id), "agency_id": str(r.agency_id),
            "ordered_by_agency_id": str(r.ordered_by_agency_id) if r.ordered_by_agency_id else None,
            "action": e.action, "status": e.status.value, "text_digest": digest(r.salt, e.text), "data": e.data,
            "at": log.leaf_time(e.at), "actor": e.actor, "actor_name": e.actor_name, "actor_role": e.actor_role}


async def _step(r: Rectification, action: str, text: str, actor: str, now: datetime, clock: Clock,
                data: dict[str, Any] | None = None) -> RectificationEvent:
    """The step's event with its leaf and its audit entry: call inside the step's transaction."""
    name, role = audit.who(actor)
    event = RectificationEvent(rectification_id=r.id, action=action, status=r.status, text=text, data=data or {},
                               at=now, actor=actor, actor_name=name, actor_role=role)
    await log.append_row(event, LeafKind.RECTIFICATION_EVENT, leaf_content(event, r), agency_id=r.agency_id,
                         ref=f"rectification:{r.id}", clock=clock)
    await audit.record(actor, f"rectification.{action}", "rectification", r.id, agency_id=r.agency_id,
                       data={"event": event.id, "status": r.status.value, **(data or {})})
    return event


def _check_due(due_on: date, today: date) -> None:
    if not today < due_on <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed(f"整改期限须在今天之后、{MAX_DAYS_AHEAD} 天之内", code="due_on_invalid")


async def _parties(case_id: uuid.UUID | None) -> list[Party]:
    return await Party.filter(case_links__case_id=case_id) if case_id is not None else []


def _masked(text: str, parties: list[Party]) -> str:
    return masking.mask_text(text.strip(), parties)


# -- the supervising body ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    agency_id: uuid.UUID
    subject: str
    due_on: date
    case_id: uuid.UUID | None = None
    complaint_id: uuid.UUID | None = None


async def _body_of(agency: Agency, supervisor_agency_id: uuid.UUID) -> None:
    if agency.supervised_by_id is None:
        raise Conflict("该机关尚未登记其执法监督机构（请系统运维人员登记），不能责令整改",
                       code="supervising_body_unknown")
    if agency.supervised_by_id != supervisor_agency_id:
        raise Conflict("只有该机关的执法监督机构可以责令整改、认可或退回整改答复", code="not_supervising_body")


async def order(order: Order, supervisor_agency_id: uuid.UUID, actor: str, clock: Clock) -> Rectification:
    """The supervising body orders the agency to rectify ``subject`` by ``due_on``."""
    if not order.subject.strip():
        raise ValidationFailed("整改内容不能为空", code="subject_required")
    now = clock.now()
    _check_due(order.due_on, now.date())
    agency = await Agency.filter(id=order.agency_id).first()
    if agency is None or agency.kind is AgencyKind.SUPERVISOR:
        raise NotFound("未找到该执法机关", code="agency_not_found")
    await _body_of(agency, supervisor_agency_id)
    if order.case_id is not None and not await Case.filter(id=order.case_id, agency_id=agency.id).exists():
        raise NotFound("该机关没有这个案件", code="case_not_found")
    if order.complaint_id is not None and not await Complaint.filter(id=order.complaint_id,
                                                                     agency_id=agency.id).exists():
        raise NotFound("该机关没有这件投诉", code="complaint_not_found")
    text = _masked(order.subject, await _parties(order.case_id))
    async with in_transaction():
        r = await Rectification.create(
            agency_id=agency.id, ordered_by_agency_id=supervisor_agency_id, subject=text, due_on=order.due_on,
            status=X.ORDERED, case_id=order.case_id, complaint_id=order.complaint_id, salt=secrets.token_hex(16),
            ordered_at=now, ordered_by_name=audit.who(actor)[0])
        await _step(r, "order", text, actor, now, clock, {
            "due_on": order.due_on.isoformat(), "case_id": str(order.case_id) if order.case_id else None,
            "complaint_id": str(order.complaint_id) if order.complaint_id else None})
    return r


async def _locked(rectification_id: uuid.UUID, scope: uuid.UUID | None) -> Rectification:
    r = await scoped(Rectification.filter(id=rectification_id), scope).select_for_update().first()
    if r is None:
        raise rectification_not_found()
    return r


async def accept(rectification_id: uuid.UUID, supervisor_agency_id: uuid.UUID, note: str, actor: str,
                 clock: Clock) -> Rectification:
    """The answer shows the rectification done: the order is closed."""
    now = clock.now()
    async with in_transaction():
        r = await _locked(rectification_id, None)
        await _body_of(await Agency.get(id=r.agency_id), supervisor_agency_id)
        r.status = RECTIFICATION.next(r.status, "accept")
        r.closed_at = now
        await r.save(update_fields=["status", "closed_at", "updated_at"])
        await _step(r, "accept", _masked(note, await _parties(r.case_id)), actor, now, clock)
    return r


async def send_back(rectification_id: uuid.UUID, supervisor_agency_id: uuid.UUID, reason: str,
                    due_on: date | None, actor: str, clock: Clock) -> Rectification:
    """The answer is not enough: the agency answers again, by ``due_on`` if a new date is given."""
    if not reason.strip():
        raise ValidationFailed("退回须写明理由", code="reason_required")
    now = clock.now()
    if due_on is not None:
        _check_due(due_on, now.date())
    async with in_transaction():
        r = await _locked(rectification_id, None)
        await _body_of(await Agency.get(id=r.agency_id), supervisor_agency_id)
        r.status = RECTIFICATION.next(r.status, "return")
        r.due_on = due_on or r.due_on
        await r.save(update_fields=["status", "due_on", "updated_at"])
        await _step(r, "return", _masked(reason, await _parties(r.case_id)), actor, now, clock,
                    {"due_on": r.due_on.isoformat()})
    return r


# -- the agency --------------------------------------------------------------------------------------

async def answer(rectification_id: uuid.UUID, agency_id: uuid.UUID, text: str, evidence_id: uuid.UUID | None,
                 actor: str, clock: Clock) -> Rectification:
    """The agency's written answer, with one of its own evidence files as the document if it has one.
    Another agency's rectification (or evidence) is a 404."""
    if not text.strip():
        raise ValidationFailed("书面答复不能为空", code="answer_required")
    await get(rectification_id, agency_id)  # 404 before anything else for another agency
    if evidence_id is not None and not await Evidence.filter(id=evidence_id, case__agency_id=agency_id).exists():
        raise NotFound("本机关没有这份证据材料", code="evidence_not_found")
    now = clock.now()
    async with in_transaction():
        r = await _locked(rectification_id, agency_id)
        r.status = RECTIFICATION.next(r.status, "answer")
        r.answer, r.answer_evidence_id, r.answered_at = _masked(text, await _parties(r.case_id)), evidence_id, now
        await r.save(update_fields=["status", "answer", "answer_evidence_id", "answered_at", "updated_at"])
        await _step(r, "answer", r.answer, actor, now, clock,
                    {"evidence_id": str(evidence_id) if evidence_id else None,
                     "late": now.date() > r.due_on})
    return r


# -- the government level ----------------------------------------------------------------------------

def overdue_q(today: date) -> Q:
    """Still owed past its date (escalated ones stay late until answered)."""
    return Q(status__in=list(OPEN), due_on__lt=today)


async def escalate_overdue(clock: Clock, batch: int = 200) -> int:
    """The periodic job: every order unanswered past its date goes to the government level, once.
    Each row is re-read under its lock and checked again, so two runs at once escalate it once."""
    today, now = clock.today(), clock.now()
    due = await Rectification.filter(overdue_q(today), escalated_at__isnull=True).exclude(status=X.ESCALATED) \
        .order_by("due_on", "id").limit(batch).values_list("id", flat=True)
    count = 0
    for rid in due:
        async with in_transaction():
            r = await Rectification.filter(id=rid).select_for_update().get()
            if r.escalated_at is not None or r.status not in (X.ORDERED, X.RETURNED) or not r.due_on < today:
                continue
            agency = await Agency.get(id=r.agency_id)
            r.status = RECTIFICATION.next(r.status, "escalate")
            r.escalated_at = now
            await r.save(update_fields=["status", "escalated_at", "updated_at"])
            body = agency.supervised_by_id or r.ordered_by_agency_id
            await _step(r, "escalate", "", ESCALATION, now, clock, {
                "escalated_to": str(body) if body else None, "days_overdue": (today - r.due_on).days})
            count += 1
    return count


# -- reading -----------------------------------------------------------------------------------------

async def get(rectification_id: uuid.UUID, scope: uuid.UUID | None) -> Rectification:
    r = await scoped(Rectification.filter(id=rectification_id), scope).first()
    if r is None:
        raise rectification_not_found()
    return r


async def events(rectification_id: uuid.UUID) -> list[RectificationEvent]:
    return await RectificationEvent.filter(rectification_id=rectification_id).order_by("id")


def days_overdue(r: Rectification, today: date) -> int:
    return max(0, (today - r.due_on).days) if r.status in OPEN else 0


async def search(scope: uuid.UUID | None, clock: Clock, *, status: RectificationStatus | None = None,
                 agency_id: uuid.UUID | None = None, overdue: bool | None = None, page: int = 1,
                 page_size: int = 20) -> tuple[list[Rectification], int]:
    """The supervisor's list (``scope=None``: every agency, or ``agency_id``) or the agency's own;
    the earliest date first."""
    query = scoped(Rectification.all(), scope)
    if agency_id is not None:
        query = query.filter(agency_id=agency_id)
    if status is not None:
        query = query.filter(status=status)
    if overdue is not None:
        q = overdue_q(clock.today())
        query = query.filter(q) if overdue else query.filter(~q)
    total = await query.count()
    rows = await query.order_by("due_on", "id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def agency_names(rows: list[Rectification]) -> dict[uuid.UUID, str]:
    ids = {r.agency_id for r in rows}
    return {a["id"]: a["name"] for a in await Agency.filter(id__in=list(ids)).values("id", "name")}


@dataclass(frozen=True)
class Overdue:
    rectification: Rectification
    agency_name: str
    days_overdue: int


async def overdue(clock: Clock, *, page: int, page_size: int,
                  scope: uuid.UUID | None = None) -> tuple[list[Overdue], int]:
    """Orders still owed past their date, the longest late first: every agency's, or one's."""
    today = clock.today()
    query = scoped(Rectification.filter(overdue_q(today)), scope)
    total = await query.count()
    rows = await query.order_by("due_on", "id").offset((page - 1) * page_size).limit(page_size)
    names = await agency_names(rows)
    return [Overdue(r, names.get(r.agency_id, ""), days_overdue(r, today)) for r in rows], total
