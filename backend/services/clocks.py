"""Every stored working-day deadline, in one table: how it is computed, recomputed and watched.

- the legal review's ``due_on``: 5 working days after submission (R-L4, ``review/deadlines.py``);
- a decision's ``publish_due_on``: 7 working days after its decision date for permits and penalties,
  20 for other results (R-P1), set when the decision is registered;
- a decision's ``withdraw_due_on``: 3 working days after it was revoked, confirmed illegal or ordered
  remade (R-P3), set when the revocation is recorded;
- a register version's ``publish_due_on``: 20 working days after the day its change was made
  (``changed_on``, R-D4; ``services/registers/versions.py``), while it is not yet public.

Each is counted on the official calendar (``services/calendar.py``) and stored with a
``…_provisional`` flag when a day counted had no official schedule. Loading a year
(``yangguang calendar load``) recomputes, in the load's transaction, every stored deadline that is
provisional or whose count touches a loaded year; each changed date is audited. The overdue views
(red: past due; yellow: due today or tomorrow) read the stored dates, so they are indexable queries.

Publication periods (how long a decision stays public) are months, per decision type, from
``Settings.publication_periods``; they end by themselves (the ``end_publications`` periodic job) or
early by a credit repair, never before the minimum.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, Clock
from backend.models import (
    Agency,
    CalendarLoad,
    Case,
    Complaint,
    Decision,
    DecisionRevocation,
    LegalReview,
    RegisterVersion,
)
from backend.models.enums import CaseType, DecisionStatus
from backend.services import audit, calendar
from backend.services.calendar import add_months
from backend.services.complaints import handling as complaint_handling
from backend.services.registers import versions as register_versions
from backend.services.review import deadlines
from backend.services.scope import scoped
from backend.settings import Settings

PUBLISH_WORKING_DAYS: dict[CaseType, int] = {CaseType.PERMIT: 7, CaseType.PENALTY: 7}
OTHER_PUBLISH_WORKING_DAYS = 20
WITHDRAW_WORKING_DAYS = 3
PUBLIC = (DecisionStatus.PUBLISHED, DecisionStatus.CORRECTED)

Kind = Literal["review", "publication", "withdrawal"]


def publication_working_days(decision_type: CaseType) -> int:
    return PUBLISH_WORKING_DAYS.get(decision_type, OTHER_PUBLISH_WORKING_DAYS)


async def publish_due(decision_type: CaseType, decided_at: date) -> calendar.Deadline:
    return await calendar.add_working_days(decided_at, publication_working_days(decision_type))


async def withdraw_due(revoked_on: date) -> calendar.Deadline:
    return await calendar.add_working_days(revoked_on, WITHDRAW_WORKING_DAYS)


# -- publication periods -------------------------------------------------------------------------

def publication_ends_on(settings: Settings, decision_type: CaseType, published_on: date) -> date:
    """The last day a decision published on ``published_on`` stays public (its type's maximum)."""
    return add_months(published_on, settings.publication_periods[decision_type.value][1]) - timedelta(days=1)


def earliest_credit_repair(settings: Settings, decision_type: CaseType, published_on: date) -> date:
    """The first day a credit repair may end the publication (its type's minimum has passed)."""
    return add_months(published_on, settings.publication_periods[decision_type.value][0])


# -- recomputing when a year of the calendar is loaded ---------------------------------------------

@dataclass
class LoadResult:
    load: CalendarLoad
    years: list[int]
    recomputed: dict[str, int] = field(default_factory=dict)  # clock -> stored dates that changed
    confirmed: dict[str, int] = field(default_factory=dict)  # clock -> provisional dates now official


async def load(entries: list[calendar.Entry], *, source_name: str, sha256: str, actor: str,
               clock: Clock) -> LoadResult:
    """Store a load of the official schedule and recompute the stored deadlines it affects, in one
    transaction: a deadline is never left computed on a calendar that no longer holds."""
    async with in_transaction():
        row = await calendar.store(entries, source_name=source_name, sha256=sha256, actor=actor, clock=clock)
        result = LoadResult(row, list(row.years))
        cal = await calendar.current()
        for spec in STORED:
            changed, confirmed = await spec.recompute(cal, result.years, actor)
            result.recomputed[spec.name], result.confirmed[spec.name] = changed, confirmed
    return result


@dataclass(frozen=True)
class Stored:
    name: str
    words: str  # what the operator reads after a load (yangguang calendar load)
    recompute: Callable[[calendar.Calendar, list[int], str], Awaitable[tuple[int, int]]]


def _touching(years: list[int], due: str, provisional: str) -> Q:
    """Rows whose count may involve a loaded year: provisional ones, and those due in or after it
    (a count that starts after the last loaded year never reaches into it)."""
    flagged: dict[str, object] = {provisional: True}
    later: dict[str, object] = {f"{due}__gte": date(min(years), 1, 1)}
    return Q(**flagged) | Q(**later)  # type: ignore[arg-type]  # tortoise's Q(**filters) stub is narrower


async def _apply(kind: str, target: str, target_id: uuid.UUID, agency_id: uuid.UUID, old: date | None,
                 new: calendar.Deadline, actor: str) -> bool:
    if old != new.on:
        await audit.record(actor, "deadline.recompute", target, target_id, agency_id=agency_id,
                           data={"clock": kind, "from": old.isoformat() if old else None, "to": new.on.isoformat(),
                                 "provisional": new.provisional})
        return True
    return False


async def _reviews(cal: calendar.Calendar, years: list[int], actor: str) -> tuple[int, int]:
    changed = confirmed = 0
    before = datetime(max(years) + 1, 1, 1, tzinfo=SHANGHAI)
    for r in await LegalReview.filter(_touching(years, "due_on", "due_on_provisional"), submitted_at__lt=before):
        new = cal.add(r.submitted_at.astimezone(SHANGHAI).date(), deadlines.REVIEW_WORKING_DAYS)
        if (new.on, new.provisional) == (r.due_on, r.due_on_provisional):
            continue
        changed += await _apply("review", "legal_review", r.id, r.agency_id, r.due_on, new, actor)
        confirmed += r.due_on_provisional and not new.provisional
        await LegalReview.filter(id=r.id).update(due_on=new.on, due_on_provisional=new.provisional)
    return changed, confirmed


async def _publications(cal: calendar.Calendar, years: list[int], actor: str) -> tuple[int, int]:
    changed = confirmed = 0
    rows = await Decision.filter(_touching(years, "publish_due_on", "publish_due_on_provisional")
                                 | Q(publish_due_on__isnull=True), decided_at__lte=date(max(years), 12, 31))
    for d in rows:
        new = cal.add(d.decided_at, publication_working_days(d.type))
        if (new.on, new.provisional) == (d.publish_due_on, d.publish_due_on_provisional):
            continue
        changed += await _apply("publication", "decision", d.id, d.agency_id, d.publish_due_on, new, actor)
        confirmed += d.publish_due_on_provisional and not new.provisional
        await Decision.filter(id=d.id).update(publish_due_on=new.on, publish_due_on_provisional=new.provisional)
    return changed, confirmed


async def _withdrawals(cal: calendar.Calendar, years: list[int], actor: str) -> tuple[int, int]:
    changed = confirmed = 0
    rows = await DecisionRevocation.filter(revoked_on__lte=date(max(years), 12, 31)).filter(
        Q(decision__withdraw_due_on_provisional=True) | Q(decision__withdraw_due_on__gte=date(min(years), 1, 1)))
    decisions = {d.id: d for d in await Decision.filter(id__in=[r.decision_id for r in rows])}
    for r in rows:
        d = decisions[r.decision_id]
        new = cal.add(r.revoked_on, WITHDRAW_WORKING_DAYS)
        if (new.on, new.provisional) == (d.withdraw_due_on, d.withdraw_due_on_provisional):
            continue
        changed += await _apply("withdrawal", "decision", d.id, d.agency_id, d.withdraw_due_on, new, actor)
        confirmed += d.withdraw_due_on_provisional and not new.provisional
        await Decision.filter(id=d.id).update(withdraw_due_on=new.on, withdraw_due_on_provisional=new.provisional)
    return changed, confirmed


async def _complaints(cal: calendar.Calendar, years: list[int], actor: str) -> tuple[int, int]:
    """Complaints still open: their acknowledge and answer limits, counted from the day of intake."""
    changed = confirmed = 0
    before = datetime(max(years) + 1, 1, 1, tzinfo=SHANGHAI)
    rows = await Complaint.filter(_touching(years, "answer_due_on", "due_on_provisional"),
                                  status__in=list(complaint_handling.OPEN), submitted_at__lt=before,
                                  acknowledge_days__isnull=False, answer_days__isnull=False)
    for c in rows:
        assert c.submitted_at is not None and c.acknowledge_days is not None and c.answer_days is not None
        due = complaint_handling.due_dates(cal, c.submitted_at.astimezone(SHANGHAI).date(), c.acknowledge_days,
                                           c.answer_days)
        if (due.acknowledge.on, due.answer.on, due.provisional) == \
                (c.acknowledge_due_on, c.answer_due_on, c.due_on_provisional):
            continue
        moved = await _apply("complaint_acknowledge", "complaint", c.id, c.agency_id, c.acknowledge_due_on,
                             due.acknowledge, actor)
        moved = await _apply("complaint_answer", "complaint", c.id, c.agency_id, c.answer_due_on, due.answer,
                             actor) or moved
        changed += moved
        confirmed += c.due_on_provisional and not due.provisional
        await Complaint.filter(id=c.id).update(acknowledge_due_on=due.acknowledge.on, answer_due_on=due.answer.on,
                                               due_on_provisional=due.provisional)
    return changed, confirmed


async def _registers(cal: calendar.Calendar, years: list[int], actor: str) -> tuple[int, int]:
    """Register changes not yet public: 20 working days from the day the change was made."""
    changed = confirmed = 0
    rows = await RegisterVersion.filter(_touching(years, "publish_due_on", "publish_due_on_provisional"),
                                        state__in=list(register_versions.OPEN),
                                        changed_on__lte=date(max(years), 12, 31))
    for v in rows:
        new = cal.add(v.changed_on, register_versions.PUBLISH_WORKING_DAYS)
        if (new.on, new.provisional) == (v.publish_due_on, v.publish_due_on_provisional):
            continue
        changed += await _apply("register", "register_version", v.id, v.agency_id, v.publish_due_on, new, actor)
        confirmed += v.publish_due_on_provisional and not new.provisional
        await RegisterVersion.filter(id=v.id).update(publish_due_on=new.on, publish_due_on_provisional=new.provisional)
    return changed, confirmed


STORED: tuple[Stored, ...] = (
    Stored("review", "法制审核", _reviews), Stored("publication", "决定公示", _publications),
    Stored("withdrawal", "撤回公示", _withdrawals), Stored("complaint", "投诉处理", _complaints),
    Stored("register", "公开清单变更", _registers))
STORED_WORDS = {spec.name: spec.words for spec in STORED}


# -- overdue views --------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueDecision:
    decision: Decision
    agency_name: str
    case_number: str
    due_on: date
    provisional: bool
    colour: deadlines.Colour
    days_overdue: int
    revocation: DecisionRevocation | None


def due_by(kind: Literal["publication", "withdrawal"], day: date) -> Q:
    """Decisions whose clock runs out by ``day`` and that still owe the act: drafts not published
    (publication), revoked decisions still public (withdrawal). One rule for the overdue views and
    the ``/metrics`` gauge (overdue = due by yesterday)."""
    if kind == "publication":
        return Q(status=DecisionStatus.DRAFT, publish_due_on__lte=day)
    return Q(status__in=list(PUBLIC), withdraw_due_on__lte=day)


async def overdue_decisions(kind: Literal["publication", "withdrawal"], clock: Clock, *, page: int, page_size: int,
                            scope: uuid.UUID | None = None) -> tuple[list[OverdueDecision], int]:
    """Decisions whose clock is red or yellow: drafts not yet published by ``publish_due_on``
    (publication), or revoked decisions still public by ``withdraw_due_on`` (withdrawal). Every
    agency for the supervisor (``scope=None``), one agency for its own view."""
    today = clock.today()
    due = "publish_due_on" if kind == "publication" else "withdraw_due_on"
    query = scoped(Decision.filter(due_by(kind, today + timedelta(days=1))), scope)  # red and yellow
    total = await query.count()
    rows = await query.order_by(due, "id").offset((page - 1) * page_size).limit(page_size)
    names = {a["id"]: a["name"] for a in await Agency.filter(id__in={r.agency_id for r in rows}).values("id", "name")}
    numbers = {c["id"]: c["number"] for c in await Case.filter(id__in={r.case_id for r in rows}).values("id", "number")}
    revocations = {r.decision_id: r for r in await DecisionRevocation.filter(decision_id__in=[d.id for d in rows])}
    out = []
    for d in rows:
        on = d.publish_due_on if kind == "publication" else d.withdraw_due_on
        provisional = d.publish_due_on_provisional if kind == "publication" else d.withdraw_due_on_provisional
        assert on is not None  # filtered on it
        out.append(OverdueDecision(d, names.get(d.agency_id, ""), numbers.get(d.case_id, ""), on, provisional,
                                   deadlines.colour(on, today), max(0, (today - on).days),
                                   revocations.get(d.id)))
    return out, total


async def calendar_warning(clock: Clock) -> str | None:
    """The warning every overdue view carries while a needed year of the calendar is missing."""
    return (await calendar.current()).missing_year_warning(clock.today())
