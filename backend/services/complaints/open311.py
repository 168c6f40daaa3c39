"""Open311 GeoReport v2 (issue 12 item 7): how a 12345 hotline platform passes complaints in and reads
their status back. The HTTP surface is ``backend/api/open311.py``; the rules are here.

- **Services** are our three kinds (complaint 投诉, report 举报, suggestion 建议). Each has the same
  attributes: the agency it is about (required: the handling agency), optionally a case number of
  that agency or a published decision.
- **Filing** goes through ``intake.file`` like every complaint (same receipt, same leaf), channel
  ``open311``, audited as the integrator key's named system. The hotline took the call and keeps the
  caller's identity: what Open311 calls ``first_name``, ``last_name``, ``email``, ``phone``,
  ``device_id`` and ``account_id`` is never stored (the complaint is anonymous here; the hotline
  relays the answer). ``media_url`` is refused: the server never fetches a URL it is handed.
- **Reading back**: an integrator sees only the requests its own system filed (every integrator key
  of the same agency and system name, so a rotated key keeps the history), never another
  integrator's nor a mini-program complaint; anything else is the one 404. What it reads is masked
  as for the public (numbers, e-mail, home addresses, cue-found names).
- **Status**: ``open`` until the agency answers, ``closed`` once answered or closed; an answered
  complaint that is escalated (an unsatisfied rating) is ``open`` again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backend.clock import SHANGHAI, Clock
from backend.errors import NotFound, ValidationFailed
from backend.models import Agency, ApiKey, Complaint, ComplaintEvent
from backend.models.enums import AgencyKind, ComplaintAbout, ComplaintKind, ComplaintStatus, Role
from backend.services import masking
from backend.services.apikeys import Principal
from backend.services.complaints import handling, intake, steps
from backend.settings import Settings

CHANNEL = "open311"
DEFAULT_WINDOW = timedelta(days=90)  # GeoReport v2: without dates, the last 90 days
MAX_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000  # GeoReport v2: at most 1000 requests an answer
MAX_IDS = 100  # service_request_id=a,b,c…


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    keywords: tuple[str, ...]
    group: str = "行政执法监督"


SERVICES: dict[str, Service] = {s.code: s for s in (
    Service(ComplaintKind.COMPLAINT.value, "投诉", "对行政执法机关或执法人员的执法行为投诉", ("投诉", "执法", "态度")),
    Service(ComplaintKind.REPORT.value, "举报", "举报行政执法中的违法违纪行为", ("举报", "违法", "违纪")),
    Service(ComplaintKind.SUGGESTION.value, "建议", "对行政执法工作的意见和建议", ("建议", "意见")),
)}


def service_not_found() -> NotFound:
    return NotFound("没有该服务类型，请先查询 services.json", code="service_not_found")


def request_not_found() -> NotFound:
    # One answer for an unknown number and for another integrator's request: nothing to tell apart.
    return NotFound("未找到该服务请求", code="service_request_not_found")


def service(code: str) -> Service:
    found = SERVICES.get(code)
    if found is None:
        raise service_not_found()
    return found


@dataclass(frozen=True)
class AgencyChoice:
    id: uuid.UUID
    name: str


async def agencies() -> list[AgencyChoice]:
    """The values of the ``agency_id`` attribute: every agency that handles complaints."""
    rows = await Agency.exclude(kind=AgencyKind.SUPERVISOR).order_by("name", "id").values("id", "name")
    return [AgencyChoice(r["id"], r["name"]) for r in rows]


# -- filing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenFiling:
    service_code: str
    description: str
    agency_id: uuid.UUID
    case_number: str | None = None
    decision_id: uuid.UUID | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""


async def file(settings: Settings, clock: Clock, by: Principal, f: OpenFiling) -> intake.Receipt:
    if by.role is not Role.INTEGRATOR:  # the route allows no other role; a service called otherwise refuses too
        raise ValidationFailed("只有对接系统密钥可以提交服务请求", code="integrator_only")
    kind = ComplaintKind(service(f.service_code).code)
    if f.case_number is not None and f.decision_id is not None:
        raise ValidationFailed("case_number 与 decision_id 只能给出其一", code="attribute_conflict")
    if f.decision_id is not None:
        about = intake.About(ComplaintAbout.DECISION, decision_id=f.decision_id)
    elif f.case_number is not None:
        about = intake.About(ComplaintAbout.CASE, agency_id=f.agency_id, case_number=f.case_number)
    else:
        about = intake.About(ComplaintAbout.AGENCY, agency_id=f.agency_id)
    if about.kind is ComplaintAbout.DECISION:
        subject = await intake.resolve(about)
        if subject.agency_id != f.agency_id:  # a decision of another agency than the one named
            raise intake.subject_not_found()
    return await intake.file(settings, clock, intake.Filing(
        kind=kind, about=about, text=f.description, latitude=f.latitude, longitude=f.longitude,
        address=f.address, channel=CHANNEL, filed_by=by))


# -- reading back ------------------------------------------------------------------------------------

def status_of(s: ComplaintStatus) -> str:
    return "open" if s in handling.OPEN else "closed"


STATUSES = {"open": sorted(handling.OPEN), "closed": sorted(set(ComplaintStatus) - handling.OPEN)}


@dataclass(frozen=True)
class RequestView:
    """One service request as GeoReport v2 shows it (masked: nothing about a person)."""

    service_request_id: str
    status: str
    status_notes: str
    service_code: str
    service_name: str
    description: str
    agency_responsible: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str
    lat: float | None
    long: float | None
    leaf_index: int | None


async def _own_key_ids(by: Principal) -> list[uuid.UUID]:
    """Every integrator key of the caller's system: what any of them filed is the system's."""
    if by.role is not Role.INTEGRATOR or not by.system_name:
        return []
    rows = await ApiKey.filter(agency_id=by.agency_id, role=Role.INTEGRATOR,
                               system_name=by.system_name).values("id")
    return [r["id"] for r in rows]


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def _notes(c: Complaint, last_action: str | None) -> str:
    words = steps.STEP_WORDS.get(last_action or "submit", "")
    if c.status in (ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED) and c.answer:
        return f"{words}：{masking.mask_text(c.answer, [])}"[:2000]
    if c.status is ComplaintStatus.SUBMITTED and c.acknowledge_due_on is not None:
        return f"{words}，将于 {c.acknowledge_due_on.isoformat()} 前受理"
    return words


async def _views(rows: list[Complaint]) -> list[RequestView]:
    if not rows:
        return []
    names = dict(await Agency.filter(id__in={c.agency_id for c in rows}).values_list("id", "name"))
    last: dict[uuid.UUID, tuple[str, datetime]] = {}
    for e in await ComplaintEvent.filter(complaint_id__in=[c.id for c in rows]).order_by("id") \
            .values("complaint_id", "action", "at", "created_at"):
        last[e["complaint_id"]] = (e["action"], e["at"] or e["created_at"])
    out = []
    for c in rows:
        submitted = (c.submitted_at or c.created_at).astimezone(SHANGHAI)
        action, updated = last.get(c.id, ("submit", submitted))
        svc = SERVICES[c.kind.value]
        out.append(RequestView(
            service_request_id=c.tracking_no, status=status_of(c.status), status_notes=_notes(c, action),
            service_code=svc.code, service_name=svc.name, description=masking.mask_text(c.text, []),
            agency_responsible=str(names.get(c.agency_id, "")), requested_datetime=submitted,
            updated_datetime=updated.astimezone(SHANGHAI), expected_datetime=_end_of(c.answer_due_on),
            address=masking.mask_text(c.address, []) if c.address else "",
            lat=float(c.latitude) if c.latitude is not None else None,
            long=float(c.longitude) if c.longitude is not None else None, leaf_index=c.leaf_index))
    return out


@dataclass(frozen=True)
class Search:
    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


async def search(by: Principal, clock: Clock, q: Search) -> list[RequestView]:
    """The caller's own requests, newest first. Named ids are looked up whatever their date; without
    ids the window is ``start``–``end`` (at most 90 days), by default the last 90 days."""
    keys = await _own_key_ids(by)
    if not keys:
        return []
    query = Complaint.filter(filed_by_key_id__in=keys)
    if len(q.service_request_ids) > MAX_IDS:
        raise ValidationFailed(f"service_request_id 一次最多 {MAX_IDS} 个", code="too_many_ids")
    for code in q.service_codes:
        service(code)
    if q.service_request_ids:
        # A string that is no tracking number names no request (and may be longer than the column).
        numbers = [n for n in (intake.normalise(i) for i in q.service_request_ids) if intake.TRACKING.fullmatch(n)]
        query = query.filter(tracking_no__in=numbers)
    else:
        end = q.end or clock.now()
        start = q.start or end - DEFAULT_WINDOW
        if start > end:
            raise ValidationFailed("start_date 不能晚于 end_date", code="date_range_invalid")
        if end - start > MAX_WINDOW:
            raise ValidationFailed("查询时间范围最长 90 天", code="date_range_too_long")
        query = query.filter(submitted_at__gte=start, submitted_at__lte=end)
    if q.service_codes:
        query = query.filter(kind__in=list(q.service_codes))
    if q.statuses:
        query = query.filter(status__in=[s for name in q.statuses for s in STATUSES[name]])
    rows = await query.order_by("-submitted_at", "id").limit(MAX_RESULTS)
    return await _views(rows)


async def get(by: Principal, service_request_id: str) -> RequestView:
    number = intake.normalise(service_request_id)
    if not intake.TRACKING.fullmatch(number):
        raise request_not_found()
    keys = await _own_key_ids(by)
    row = await Complaint.filter(tracking_no=number, filed_by_key_id__in=keys).first() if keys else None
    if row is None:
        raise request_not_found()
    return (await _views([row]))[0]
