"""The closed loop of a complaint (R-X2): the handling agency acknowledges, handles and answers it
through the COMPLAINT transition table, within its limits; overdue complaints go to the supervisor
(``escalate_overdue``, a periodic job); the supervisor sees satisfaction per agency.

Who sees what: a complaint is seen by its handling agency's staff and by the supervisor, except by
the officer it is about (a key of that officer sees no trace of it, whatever its role); the
complainant's identity (phone, openid) only by the handling agency's admins and the supervisor.
Everyone else reads the text with phone and ID numbers masked.

Limits per agency (working days from the day of intake): acknowledge in 2, answer in 15 unless the
agency set others. Working days come from the official calendar (``services/calendar.py``); a
complaint whose count reached into a year with no schedule loaded is ``due_on_provisional`` and is
recomputed when that year is loaded (``services/clocks.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import NotFound, ValidationFailed
from backend.models import Agency, ApiKey, Complaint, ComplaintEvent
from backend.models.enums import AgencyKind, ComplaintStatus, Role
from backend.services import audit, calendar, masking
from backend.services.complaints import steps
from backend.services.states import COMPLAINT
from backend.settings import Settings

ACKNOWLEDGE_DAYS = 2
ANSWER_DAYS = 15
MAX_DAYS = 60
S = ComplaintStatus
OPEN = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.HANDLING, S.ESCALATED})  # not answered yet
IDENTITY_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
ACTIONS = ("acknowledge", "handle", "answer")  # what the agency does; escalate and close are not its own
TARGET_PERCENT = 90  # satisfaction target per agency (share of rated answers rated ≥ 4)


@dataclass(frozen=True)
class Due:
    acknowledge: calendar.Deadline
    answer: calendar.Deadline

    @property
    def provisional(self) -> bool:
        return self.acknowledge.provisional or self.answer.provisional


def due_dates(cal: calendar.Calendar, received_on: date, acknowledge_days: int, answer_days: int) -> Due:
    return Due(cal.add(received_on, acknowledge_days), cal.add(received_on, answer_days))


def complaint_not_found() -> NotFound:
    return NotFound("未找到该投诉", code="complaint_not_found")


# -- limits ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    acknowledge_days: int
    answer_days: int
    custom: bool


def limits_of(acknowledge_days: int | None, answer_days: int | None) -> Limits:
    """The limits from an agency's two columns (None: the default)."""
    return Limits(acknowledge_days or ACKNOWLEDGE_DAYS, answer_days or ANSWER_DAYS,
                  acknowledge_days is not None or answer_days is not None)


async def limits(agency_id: uuid.UUID) -> Limits:
    row = await Agency.filter(id=agency_id).first().values("complaint_acknowledge_days", "complaint_answer_days")
    return limits_of(row["complaint_acknowledge_days"] if row else None, row["complaint_answer_days"] if row else None)


async def set_limits(agency_id: uuid.UUID, acknowledge_days: int, answer_days: int, actor: str) -> Limits:
    """New limits apply to complaints received from now on (a complaint keeps the dates it was given)."""
    if not 1 <= acknowledge_days <= answer_days <= MAX_DAYS:
        raise ValidationFailed(f"须满足 1 ≤ 受理时限 ≤ 答复时限 ≤ {MAX_DAYS} 个工作日", code="complaint_limits_invalid")
    async with in_transaction():
        await Agency.filter(id=agency_id).update(complaint_acknowledge_days=acknowledge_days,
                                                 complaint_answer_days=answer_days)
        await audit.record(actor, "complaint.limits", "agency", agency_id, agency_id=agency_id,
                           data={"acknowledge_days": acknowledge_days, "answer_days": answer_days})
    return Limits(acknowledge_days, answer_days, True)


# -- who is looking ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    agency_id: uuid.UUID | None  # None: the supervisor (every agency)
    role: Role
    officer_id: uuid.UUID | None  # the officer the key belongs to, if any

    @property
    def sees_identity(self) -> bool:
        return self.role in IDENTITY_ROLES


async def viewer(key_id: uuid.UUID, agency_id: uuid.UUID, role: Role) -> Viewer:
    officer_id = await ApiKey.filter(id=key_id).first().values_list("officer_id", flat=True)
    return Viewer(None if role is Role.SUPERVISOR else agency_id, role,
                  officer_id if isinstance(officer_id, uuid.UUID) else None)


def _visible(viewer: Viewer) -> Q:
    q = Q()
    if viewer.agency_id is not None:
        q &= Q(agency_id=viewer.agency_id)
    if viewer.officer_id is not None:  # never the complaints about oneself
        q &= Q(officer_id__isnull=True) | ~Q(officer_id=viewer.officer_id)
    return q


def overdue_q(today: date) -> Q:
    # Never acknowledged stays late after escalation too (an escalated complaint can only be answered).
    return Q(status__in=list(OPEN)) & (Q(acknowledged_at__isnull=True, acknowledge_due_on__lt=today)
                                       | Q(answer_due_on__lt=today))


async def search(viewer: Viewer, clock: Clock, *, status: ComplaintStatus | None = None, overdue: bool | None = None,
                 page: int = 1, page_size: int = 20) -> tuple[list[Complaint], int]:
    query = Complaint.filter(_visible(viewer))
    if status is not None:
        query = query.filter(status=status)
    if overdue is not None:
        q = overdue_q(clock.today())
        query = query.filter(q) if overdue else query.filter(~q)
    total = await query.count()
    rows = await query.order_by("-submitted_at", "id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def get(viewer: Viewer, complaint_id: uuid.UUID) -> Complaint:
    row = await Complaint.filter(_visible(viewer), id=complaint_id).first()
    if row is None:
        raise complaint_not_found()
    return row


async def events(complaint_id: uuid.UUID) -> list[ComplaintEvent]:
    return await ComplaintEvent.filter(complaint_id=complaint_id).order_by("id")


def text_for(viewer: Viewer, text: str) -> str:
    """Free text as this viewer may read it: numbers masked for anyone who may not see identity."""
    return text if viewer.sees_identity else masking.mask_numbers(text)


def lateness(c: Complaint, today: date) -> Literal["acknowledge", "answer"] | None:
    """Which limit an open complaint has passed, if any."""
    if c.status not in OPEN:
        return None
    if c.answer_due_on is not None and today > c.answer_due_on:
        return "answer"
    if c.acknowledged_at is None and c.acknowledge_due_on is not None and today > c.acknowledge_due_on:
        return "acknowledge"
    return None


# -- the agency's steps ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepDone:
    complaint: Complaint
    notification_ids: list[uuid.UUID]


async def act(settings: Settings, clock: Clock, viewer: Viewer, complaint_id: uuid.UUID, action: str, actor: str,
              note: str = "") -> StepDone:
    """Acknowledge, handle or answer, through the COMPLAINT table (an illegal move: 409
    ``complaint_<action>_not_allowed``). The answer is the text the complainant reads."""
    if action not in ACTIONS:
        raise ValueError(f"not an agency action: {action}")
    if action == "answer" and not note.strip():
        raise ValidationFailed("答复内容不能为空", code="answer_required")
    await get(viewer, complaint_id)  # 404 before anything else for those who may not see it
    now = clock.now()
    async with in_transaction():
        c = await Complaint.filter(id=complaint_id).select_for_update().get()
        c.status = COMPLAINT.next(c.status, action)
        fields = ["status", "updated_at"]
        if action == "acknowledge":
            c.acknowledged_at = now
            fields.append("acknowledged_at")
        elif action == "answer":
            c.answered_at, c.answer, c.satisfaction = now, note.strip(), None
            fields += ["answered_at", "answer", "satisfaction"]
        _, ids = await steps.record_step(settings, c, action, c.status, actor, now, clock, note=note.strip())
        await c.save(update_fields=fields)
    return StepDone(c, ids)


async def escalate_overdue(settings: Settings, clock: Clock, batch: int = 200) -> tuple[int, list[uuid.UUID]]:
    """The periodic job: every open complaint past a limit goes to the supervisor, once. Each row is
    re-read under its lock and checked again, so two runs at once escalate it once."""
    today, now = clock.today(), clock.now()
    due = await Complaint.filter(overdue_q(today)).exclude(status=S.ESCALATED).limit(batch).values_list("id", flat=True)
    count, notified = 0, []
    for cid in due:
        async with in_transaction():
            c = await Complaint.filter(id=cid).select_for_update().get()
            late = lateness(c, today)
            if late is None or c.status is S.ESCALATED:
                continue
            c.status = COMPLAINT.next(c.status, "escalate")
            c.escalated_at, c.escalation_reason = now, f"overdue_{late}"
            _, ids = await steps.record_step(settings, c, "escalate", c.status, steps.ESCALATION, now, clock,
                                             data={"reason": c.escalation_reason})
            await c.save(update_fields=["status", "escalated_at", "escalation_reason", "updated_at"])
            count += 1
            notified += ids
    return count, notified


# -- the supervisor's views --------------------------------------------------------------------------

@dataclass(frozen=True)
class Satisfaction:
    agency_id: uuid.UUID
    agency_name: str
    received: int
    open: int
    overdue: int
    escalated: int
    rated: int
    satisfied: int
    percent: float | None  # share of rated answers rated ≥ 4; None before any rating

    @property
    def meets_target(self) -> bool | None:
        return None if self.percent is None else self.percent >= TARGET_PERCENT


async def satisfaction(clock: Clock) -> list[Satisfaction]:
    """Per agency: complaints received, open, overdue, escalated, and the satisfaction with answers
    (every rating of an answer counts: a re-answered complaint is rated again)."""
    today = clock.today()
    agencies = await Agency.exclude(kind=AgencyKind.SUPERVISOR).order_by("name").values("id", "name")
    rows = await Complaint.all().values("id", "agency_id", "status", "acknowledge_due_on", "answer_due_on",
                                        "acknowledged_at")
    ratings = await ComplaintEvent.filter(action="rate").values("complaint_id", "data")
    agency_of = {r["id"]: r["agency_id"] for r in rows}
    out = []
    for a in agencies:
        mine = [r for r in rows if r["agency_id"] == a["id"]]
        scores = [int(r["data"]["score"]) for r in ratings if agency_of.get(r["complaint_id"]) == a["id"]]
        overdue = sum(1 for r in mine if _late(r, today))
        satisfied = sum(1 for s in scores if s >= 4)
        out.append(Satisfaction(
            a["id"], a["name"], len(mine), sum(1 for r in mine if r["status"] in OPEN), overdue,
            sum(1 for r in mine if r["status"] == S.ESCALATED), len(scores), satisfied,
            round(100 * satisfied / len(scores), 1) if scores else None))
    return out


def _late(r: dict[str, object], today: date) -> bool:
    status = S(str(r["status"]))
    ack, ans = r["acknowledge_due_on"], r["answer_due_on"]
    if status not in OPEN:
        return False
    return (isinstance(ans, date) and today > ans) or (
        r["acknowledged_at"] is None and isinstance(ack, date) and today > ack)


@dataclass(frozen=True)
class Overdue:
    complaint: Complaint
    agency_name: str
    late: Literal["acknowledge", "answer"]
    due_on: date
    days_overdue: int


async def overdue(clock: Clock, *, page: int, page_size: int,
                  scope: uuid.UUID | None = None) -> tuple[list[Overdue], int]:
    """Open complaints past a limit, the longest late first: every agency's for the supervisor, one
    agency's when ``scope`` names it."""
    today = clock.today()
    query = Complaint.filter(overdue_q(today))
    if scope is not None:
        query = query.filter(agency_id=scope)
    total = await query.count()
    rows = await query.order_by("answer_due_on", "acknowledge_due_on", "id").offset((page - 1) * page_size) \
        .limit(page_size)
    names = await _names(r.agency_id for r in rows)
    out = []
    for r in rows:
        late = lateness(r, today) or "answer"
        due = (r.answer_due_on if late == "answer" else r.acknowledge_due_on) or today
        out.append(Overdue(r, names.get(r.agency_id, ""), late, due, max(0, (today - due).days)))
    return out, total


async def _names(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {a["id"]: a["name"] for a in await Agency.filter(id__in=list(set(ids))).values("id", "name")}
