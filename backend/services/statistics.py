"""Annual statistics (统计年报, R-P6): an agency's figures for a year, by enforcement type, computed
from what is recorded; submitted to the supervisor by 15 January and published by 31 January of the
next year; the overdue view of both deadlines.

What is counted, for a year on the Asia/Shanghai calendar:

* ``cases``: cases filed (立案) in the year: their start record's time (from the injected clock);
* ``decisions``: decisions dated in the year (``decided_at``), whatever became of their publication;
  ``measures``: how many of them impose each measure;
* ``amount_fen``: the amounts of those decisions, in fen (stored in yuan with 2 decimals, summed
  exactly); ``amounts_fen`` splits it by what the amount is: a fine, a confiscation, both in one
  decision (one amount, not split), or other (a decision with an amount and neither measure);
* ``reconsideration`` and ``litigation``: proceedings filed in the year against the agency's cases
  (``services/remedies.py``), with the outcome each has as recorded when the figures are computed
  (a submitted version freezes them).

Every type and every outcome is present (zeros too), so two reports compare key by key. The figures
hold counts and sums only: no party, no document, nothing personal.

A report is a draft (computed live) until it is submitted: each submission freezes a version (with
its transparency-log leaf) for the supervisor; the agency then publishes the latest submitted
version, which the public sees (``GET /mp/v1/statistics/{year}``). Submitting again after
publication is a correction: a new version, published in turn (the STATISTICS table). The deadlines
are calendar dates (the rules say 1月15日前 and 1月31日前), not working days; late is allowed and
shows in the overdue view.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, Clock
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.models import Agency, Case, CaseRemedy, Decision, StatisticsReport, StatisticsVersion
from backend.models.enums import (
    AgencyKind,
    CaseType,
    LeafKind,
    Measure,
    RecordStep,
    RemedyKind,
    RemedyOutcome,
    StatisticsStatus,
)
from backend.services import audit
from backend.services.review import deadlines
from backend.services.scope import scoped
from backend.services.states import STATISTICS
from backend.services.transparency import log

FIRST_YEAR = 2000  # no report is older than the system's data can be
SUBMIT_BY = (1, 15)  # month, day of the next year: reported to the supervisor
PUBLISH_BY = (1, 31)  # published
MONEY = frozenset({Measure.FINE.value, Measure.CONFISCATION.value})
AMOUNT_KINDS = ("fine", "confiscation", "fine_and_confiscation", "other")

Stage = Literal["submission", "publication"]
_YEAR = re.compile(r"[0-9]{1,6}")


# -- the year ---------------------------------------------------------------------------------------

def parse_year(raw: str, clock: Clock, *, ended: bool = False) -> int:
    """A year from a path segment: four digits, from ``FIRST_YEAR`` to this year (to last year when
    the year must be over, as for a submission)."""
    if not _YEAR.fullmatch(raw) or not FIRST_YEAR <= int(raw) <= 9999:
        raise ValidationFailed(f"年度应为 {FIRST_YEAR} 年以来的四位数字年份", code="statistics_year_invalid")
    year, this_year = int(raw), clock.today().year
    if year > this_year:
        raise ValidationFailed("该年度尚未开始，没有统计数据", code="statistics_year_in_future")
    if ended and year == this_year:
        raise ValidationFailed("该年度尚未结束，次年1月起方可报送和公开统计年报", code="statistics_year_not_over")
    return year


def submit_due_on(year: int) -> date:
    return date(year + 1, *SUBMIT_BY)


def publish_due_on(year: int) -> date:
    return date(year + 1, *PUBLISH_BY)


def _year_start(year: int) -> datetime:
    return datetime.combine(date(year, 1, 1), time.min, tzinfo=SHANGHAI)


# -- the figures ------------------------------------------------------------------------------------

def _empty_type() -> dict[str, Any]:
    return {"cases": 0, "decisions": 0, "measures": {m.value: 0 for m in Measure}, "amount_fen": 0,
            "amounts_fen": dict.fromkeys(AMOUNT_KINDS, 0),
            **{k.value: {"count": 0, "outcomes": {o.value: 0 for o in RemedyOutcome}} for k in RemedyKind}}


def _fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())  # stored with 2 decimals: exact


def _amount_kind(measures: Iterable[str]) -> str:
    money = MONEY & set(measures)
    if money == MONEY:
        return "fine_and_confiscation"
    return next(iter(money)) if money else "other"


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total[key], value)
        else:
            total[key] += value


async def compute(agency_id: uuid.UUID, year: int) -> dict[str, Any]:
    """The agency's figures for ``year``, from the recorded cases, decisions and remedies."""
    by_type = {t.value: _empty_type() for t in CaseType}
    start, end = _year_start(year), _year_start(year + 1)
    filed = await Case.filter(agency_id=agency_id, records__step=RecordStep.START, records__occurred_at__gte=start,
                              records__occurred_at__lt=end) \
        .annotate(n=Count("id", distinct=True)).group_by("type").values_list("type", "n")
    for case_type, n in filed:
        by_type[CaseType(case_type).value]["cases"] = int(n)

    decided = await Decision.filter(agency_id=agency_id, decided_at__gte=date(year, 1, 1),
                                    decided_at__lte=date(year, 12, 31)).values_list("type", "amount", "measures")
    for decision_type, amount, measures in decided:
        row = by_type[CaseType(decision_type).value]
        row["decisions"] += 1
        for m in set(measures or []):
            if m in row["measures"]:
                row["measures"][m] += 1
        if amount is not None:
            fen = _fen(Decimal(amount))
            row["amount_fen"] += fen
            row["amounts_fen"][_amount_kind(measures or [])] += fen

    # Every entry repeats its proceeding's filing date: one query finds the year's proceedings with all
    # their entries; in seq order, the last one seen is the proceeding's outcome.
    entries = await CaseRemedy.filter(agency_id=agency_id, filed_on__gte=date(year, 1, 1),
                                      filed_on__lte=date(year, 12, 31)) \
        .order_by("proceeding_id", "seq").values_list("proceeding_id", "kind", "outcome", "case__type")
    latest: dict[uuid.UUID, tuple[str, str, str]] = {}
    for proceeding, kind, outcome, case_type in entries:
        latest[proceeding] = (RemedyKind(kind).value, RemedyOutcome(outcome).value, CaseType(case_type).value)
    for kind, outcome, case_type in latest.values():
        counted = by_type[case_type][kind]
        counted["count"] += 1
        counted["outcomes"][outcome] += 1

    total = _empty_type()
    for row in by_type.values():
        _add(total, row)
    return {"year": year, "by_type": by_type, "total": total}


# -- the report -------------------------------------------------------------------------------------

def leaf_content(version: StatisticsVersion, report: StatisticsReport) -> dict[str, Any]:
    """What the transparency log commits to for a submitted version: the frozen figures and who."""
    return {"type": "statistics_version", "id": str(version.id), "agency_id": str(report.agency_id),
            "year": report.year, "version": version.version, "figures": version.figures, "reason": version.reason,
            "submitted_at": version.submitted_at.astimezone(SHANGHAI).isoformat(timespec="microseconds"),
            "actor": version.actor, "actor_name": version.actor_name, "actor_role": version.actor_role}


@dataclass(frozen=True)
class ReportView:
    """An agency's report for a year as the agency and the supervisor see it."""

    agency: Agency
    year: int
    report: StatisticsReport | None  # None: never submitted
    live: dict[str, Any]  # computed now from the records
    versions: list[StatisticsVersion]

    @property
    def status(self) -> StatisticsStatus:
        return self.report.status if self.report else StatisticsStatus.DRAFT


async def _agency(agency_id: uuid.UUID) -> Agency:
    agency = await Agency.filter(id=agency_id).first()
    if agency is None:
        raise NotFound("未找到该机关", code="agency_not_found")
    if agency.kind is AgencyKind.SUPERVISOR:
        raise Forbidden("执法监督机构不报送统计年报", code="supervisor_has_no_statistics")
    return agency


async def view(agency_id: uuid.UUID, year: int) -> ReportView:
    agency = await _agency(agency_id)
    report = await StatisticsReport.filter(agency_id=agency_id, year=year).first()
    versions = await StatisticsVersion.filter(report_id=report.id).order_by("version") if report else []
    return ReportView(agency, year, report, await compute(agency_id, year), list(versions))


async def _locked_report(agency_id: uuid.UUID, year: int) -> StatisticsReport:
    """The report row, locked for this transaction; written (as a draft) on the first submission."""
    report = await StatisticsReport.filter(agency_id=agency_id, year=year).select_for_update().first()
    return report or await StatisticsReport.create(agency_id=agency_id, year=year)


async def submit(agency_id: uuid.UUID, year: int, actor: str, clock: Clock, *, reason: str = "") -> StatisticsVersion:
    """Freeze the figures computed now as the next version, reported to the supervisor. A second
    submission (before or after publication) says why it replaces the first."""
    await _agency(agency_id)
    try:
        async with in_transaction():
            report = await _locked_report(agency_id, year)
            status = STATISTICS.next(report.status, "submit")
            if report.current_version and not reason:
                raise ValidationFailed("再次报送须说明更正原因（reason）", code="statistics_reason_required")
            now = clock.now()
            name, role = audit.who(actor)
            version = StatisticsVersion(report_id=report.id, version=report.current_version + 1,
                                        figures=await compute(agency_id, year), reason=reason, submitted_at=now,
                                        actor=actor, actor_name=name, actor_role=role)
            await log.append_row(version, LeafKind.STATISTICS_VERSION, leaf_content(version, report),
                                 agency_id=agency_id, ref=f"{agency_id}:{year}:{version.version}")
            report.status, report.current_version, report.submitted_at = status, version.version, now
            await report.save(update_fields=["status", "current_version", "submitted_at", "updated_at"])
            await audit.record(actor, "statistics.submit", "statistics_report", report.id, agency_id=agency_id,
                               data={"year": year, "version": version.version, "reason": reason})
    except IntegrityError as exc:  # a simultaneous first submission wrote the report row (or the version) first
        raise Conflict("该年度统计年报刚由他人报送，请刷新后重试", code="statistics_submit_conflict") from exc
    return version


async def publish(agency_id: uuid.UUID, year: int, actor: str, clock: Clock) -> StatisticsVersion:
    """Make the latest submitted version public (the agency publishes what it reported)."""
    await _agency(agency_id)
    async with in_transaction():
        report = await StatisticsReport.filter(agency_id=agency_id, year=year).select_for_update().first()
        status = STATISTICS.next(report.status if report else StatisticsStatus.DRAFT, "publish")
        assert report is not None  # a draft cannot be published: refused just above
        now = clock.now()
        name, role = audit.who(actor)
        version = await StatisticsVersion.get(report_id=report.id, version=report.current_version)
        await StatisticsVersion.filter(id=version.id, published_at__isnull=True).update(
            published_at=now, published_by=actor, published_by_name=name, published_by_role=role)
        await version.refresh_from_db()
        report.status, report.published_version, report.published_at = status, version.version, now
        await report.save(update_fields=["status", "published_version", "published_at", "updated_at"])
        await audit.record(actor, "statistics.publish", "statistics_report", report.id, agency_id=agency_id,
                           data={"year": year, "version": version.version})
    return version


@dataclass(frozen=True)
class PublicReport:
    agency_id: uuid.UUID
    agency_name: str
    year: int
    version: StatisticsVersion
    corrections: int  # published versions before this one


async def published(year: int, *, agency_id: uuid.UUID | None, page: int, page_size: int
                    ) -> tuple[list[PublicReport], int]:
    """The published reports of a year, one per agency (its latest published version), by agency name."""
    query = scoped(StatisticsReport.filter(year=year, published_version__isnull=False), agency_id)
    total = await query.count()
    reports = await query.order_by("agency__name", "id").offset((page - 1) * page_size).limit(page_size)
    if not reports:
        return [], total
    agencies = await Agency.filter(id__in=[r.agency_id for r in reports]).values("id", "name")
    names = {a["id"]: a["name"] for a in agencies}
    shown = await StatisticsVersion.filter(report_id__in=[r.id for r in reports], published_at__isnull=False)
    by_report: dict[uuid.UUID, list[StatisticsVersion]] = {}
    for v in shown:
        by_report.setdefault(v.report_id, []).append(v)
    out = []
    for r in reports:
        versions = sorted(by_report.get(r.id, []), key=lambda v: v.version)
        current = next(v for v in versions if v.version == r.published_version)
        out.append(PublicReport(r.agency_id, names.get(r.agency_id, ""), year, current, len(versions) - 1))
    return out, total


async def published_years(agency_id: uuid.UUID | None = None) -> list[int]:
    """The years with a published report (of this agency, or of any), newest first: the links of
    the public pages."""
    query = StatisticsReport.filter(published_version__isnull=False)
    if agency_id is not None:
        query = query.filter(agency_id=agency_id)
    years = await query.distinct().order_by("-year").values_list("year")
    return [int(y) for (y,) in years]


# -- overdue ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueReport:
    agency_id: uuid.UUID
    agency_name: str
    year: int
    stage: Stage  # what is missing: the submission, or the publication of what was submitted
    status: StatisticsStatus
    due_on: date
    colour: deadlines.Colour
    days_overdue: int


async def overdue(clock: Clock, *, scope: uuid.UUID | None = None, horizon_days: int = 1) -> list[OverdueReport]:
    """Reports whose deadline is past (red) or today or tomorrow (yellow): last year's report of
    every agency not yet submitted by 15 January or not published by 31 January; and any older
    report submitted but never published. Entrusted organisations report through their agency."""
    today = clock.today()
    horizon = today + timedelta(days=horizon_days)
    last_year = today.year - 1
    agencies = await scoped(Agency.filter(kind=AgencyKind.AGENCY), scope, "id").order_by("name", "id") \
        .values("id", "name")
    names = {a["id"]: a["name"] for a in agencies}
    reports = {(r.agency_id, r.year): r for r in await StatisticsReport.filter(
        agency_id__in=list(names), year__lte=last_year).exclude(status=StatisticsStatus.PUBLISHED)}
    submitted = {key for key, r in reports.items() if r.status is StatisticsStatus.SUBMITTED}
    out: list[OverdueReport] = []

    def add(agency_id: uuid.UUID, year: int, stage: Stage, status: StatisticsStatus, due: date) -> None:
        if due <= horizon:
            out.append(OverdueReport(agency_id, names[agency_id], year, stage, status, due,
                                     deadlines.colour(due, today), max(0, (today - due).days)))

    done = await StatisticsReport.filter(agency_id__in=list(names), year=last_year,
                                         status=StatisticsStatus.PUBLISHED).values_list("agency_id", flat=True)
    published_last_year = set(done)
    for agency_id in names:
        if (agency_id, last_year) in submitted:
            add(agency_id, last_year, "publication", StatisticsStatus.SUBMITTED, publish_due_on(last_year))
        elif agency_id not in published_last_year:
            add(agency_id, last_year, "submission", StatisticsStatus.DRAFT, submit_due_on(last_year))
    for agency_id, year in sorted(k for k in submitted if k[1] < last_year):
        add(agency_id, year, "publication", StatisticsStatus.SUBMITTED, publish_due_on(year))
    out.sort(key=lambda o: (o.due_on, o.agency_name, str(o.agency_id)))
    return out


async def overdue_count(clock: Clock) -> int:
    """Red items only (past due), for the ``yangguang_overdue_items{kind="statistics"}`` gauge."""
    return sum(1 for o in await overdue(clock, horizon_days=-1))
