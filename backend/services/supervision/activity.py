"""The supervisor's views of enforcement activity (R-X4): agencies with zero enforcement in a year
(零执法) and enterprises inspected again and again (重复检查).

Zero enforcement in year Y: an enforcement agency (kind agency or entrusted; supervising bodies are
not) with no decision decided in Y (``Decision.decided_at``, any type, whatever became of it) and no
step of any of its cases occurring in Y (``CaseRecord.occurred_at``, Beijing time: an inspection,
a seizure, a notice… each is enforcement). The current year counts so far (``complete`` false).

A repeated inspection: an enterprise (an organisation party, by its unified social credit code as
recorded, upper-cased) visited on site (a ``on_site`` record, 现场检查) on at least two visits within
the window (``YANGGUANG_REPEATED_INSPECTION_DAYS``, default 30, counting back from today inclusive),
by one agency or several. A visit is one agency's on-site records in that enterprise's cases on one
day: several records of the same visit count once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.clock import SHANGHAI, Clock
from backend.errors import ValidationFailed
from backend.models import Agency, CaseParty, CaseRecord, Decision
from backend.models.enums import AgencyKind, PartyKind, RecordStep

FIRST_YEAR = 2000


def _year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Idle:
    agency_id: uuid.UUID
    agency_name: str
    region: str
    last_enforcement_on: date | None  # the latest decision or case step before the year ended


@dataclass(frozen=True)
class ZeroEnforcement:
    year: int
    complete: bool  # false: the current year, so far
    agencies_checked: int
    items: list[Idle]


async def zero_enforcement(clock: Clock, year: int | None = None) -> ZeroEnforcement:
    today = clock.today()
    year = today.year if year is None else year
    if not FIRST_YEAR <= year <= today.year:
        raise ValidationFailed(f"年份须在 {FIRST_YEAR} 年至今年之间", code="year_invalid")
    start, end = _year_start(year), _year_start(year + 1)
    agencies = await Agency.filter(kind__in=[AgencyKind.AGENCY, AgencyKind.ENTRUSTED]).order_by("name", "id") \
        .values("id", "name", "region")
    decided = set(await Decision.filter(decided_at__gte=start.date(), decided_at__lt=end.date())
                  .distinct().values_list("agency_id", flat=True))
    stepped = set(await CaseRecord.filter(occurred_at__gte=start, occurred_at__lt=end)
                  .distinct().values_list("case__agency_id", flat=True))
    idle = [a for a in agencies if a["id"] not in decided and a["id"] not in stepped]
    out = []
    for a in idle:
        last_decision = await Decision.filter(agency_id=a["id"], decided_at__lt=start.date()) \
            .order_by("-decided_at").first().values_list("decided_at", flat=True)
        last_step = await CaseRecord.filter(case__agency_id=a["id"], occurred_at__lt=start) \
            .order_by("-occurred_at").first().values_list("occurred_at", flat=True)
        dates: list[date] = []
        if isinstance(last_decision, date):
            dates.append(last_decision)
        if isinstance(last_step, datetime):
            dates.append(last_step.astimezone(SHANGHAI).date())
        out.append(Idle(a["id"], a["name"], a["region"], max(dates) if dates else None))
    return ZeroEnforcement(year, year < today.year, len(agencies), out)


@dataclass(frozen=True)
class Visit:
    agency_id: uuid.UUID
    agency_name: str
    on: date
    case_ids: list[uuid.UUID]


@dataclass(frozen=True)
class Repeated:
    credit_code: str
    name: str  # the organisation's name as recorded on its most recent visit (public: not a person)
    visits: list[Visit]  # oldest first


MAX_WINDOW_DAYS = 366


async def repeated_inspections(clock: Clock, window_days: int) -> tuple[date, date, list[Repeated]]:
    """Enterprises visited on site at least twice in the window ending today, most visits first."""
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise ValidationFailed(f"统计窗口须为 1 至 {MAX_WINDOW_DAYS} 天", code="window_invalid")
    today = clock.today()
    since = today - timedelta(days=window_days - 1)
    start = datetime(since.year, since.month, since.day, tzinfo=SHANGHAI)
    end = datetime(today.year, today.month, today.day, tzinfo=SHANGHAI) + timedelta(days=1)
    steps = await CaseRecord.filter(step=RecordStep.ON_SITE, occurred_at__gte=start, occurred_at__lt=end) \
        .values("case_id", "occurred_at", "case__agency_id")
    case_ids = list({s["case_id"] for s in steps})
    orgs = await CaseParty.filter(case_id__in=case_ids, party__kind=PartyKind.ORGANIZATION) \
        .values("case_id", "party__id_number", "party__name") if case_ids else []
    enterprises: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
    for o in orgs:
        code = (o["party__id_number"] or "").strip().upper()
        if code:
            enterprises[o["case_id"]].append((code, o["party__name"]))
    # credit code -> (agency, day) -> cases; and the latest name seen
    visits: dict[str, dict[tuple[uuid.UUID, date], set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
    names: dict[str, tuple[datetime, str]] = {}
    for s in steps:
        at = s["occurred_at"]
        for code, name in enterprises.get(s["case_id"], []):
            visits[code][(s["case__agency_id"], at.astimezone(SHANGHAI).date())].add(s["case_id"])
            if code not in names or names[code][0] < at:
                names[code] = (at, name)
    repeated = {code: v for code, v in visits.items() if len(v) >= 2}
    agency_ids = {a for v in repeated.values() for a, _ in v}
    agency_names = {a["id"]: a["name"] for a in await Agency.filter(id__in=list(agency_ids)).values("id", "name")}
    out = []
    for code, v in repeated.items():
        ordered = sorted(v.items(), key=lambda kv: (kv[0][1], str(kv[0][0])))
        out.append(Repeated(code, names[code][1], [Visit(a, agency_names.get(a, ""), on, sorted(cases, key=str))
                                                   for (a, on), cases in ordered]))
    out.sort(key=lambda r: (-len(r.visits), r.credit_code))
    return since, today, out
