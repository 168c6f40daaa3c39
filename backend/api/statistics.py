"""Reconsiderations and lawsuits recorded on a case, and the annual statistics (统计年报, R-P6):
the agency's report for a year, its submission to the supervisor and its publication. Thin handlers
over ``services/remedies.py`` and ``services/statistics.py``; the overdue view is
``GET /api/v1/supervision/overdue?kind=statistics`` (``api/reviews.py``)."""

from __future__ import annotations

import uuid

from backend.api.cases import READERS, WRITERS, read_scope
from backend.api.decisions import revocation_out
from backend.api.statistics_schemas import (
    RemedyIn,
    RemedyList,
    RemedyOut,
    RemedyRecorded,
    StatisticsOverdueOut,
    StatisticsReportOut,
    StatisticsReportQuery,
    StatisticsSubmitIn,
    StatisticsVersionOut,
)
from backend.app_keys import CLOCK
from backend.errors import Forbidden, ValidationFailed
from backend.http.routing import Call, RouteTable
from backend.http.statistics_schemas import FiguresOut
from backend.models import CaseRemedy, StatisticsVersion
from backend.models.enums import Role
from backend.services import remedies, statistics

routes = RouteTable("/api/v1")
# Who answers for the report: the agency's administrator and its head (the head signs it off).
REPORTERS = {Role.ADMIN, Role.HEAD}


def _remedy_out(r: CaseRemedy) -> RemedyOut:
    return RemedyOut(id=r.id, proceeding_id=r.proceeding_id, seq=r.seq, case_id=r.case_id, decision_id=r.decision_id,
                     kind=r.kind, outcome=r.outcome, filed_on=r.filed_on, decided_on=r.decided_on,
                     authority=r.authority, document_no=r.document_no, note=r.note, recorded_by=r.actor_name,
                     recorded_role=r.actor_role, recorded_at=r.recorded_at, leaf_index=r.leaf_index)


@routes.route("POST", "/cases/{case_id}/remedies", access=WRITERS, status=201,
              summary="登记针对本案（或其决定）的行政复议、行政诉讼及其结果（每次一条，只增不改；"
                      "后续结果填 proceeding_id）",
              tag="cases", body=RemedyIn, response=RemedyRecorded, errors=(404, 409, 422))
async def record_remedy(call: Call[RemedyIn, None]) -> RemedyRecorded:
    b = call.body
    done = await remedies.record(call.principal.agency_id, call.path_uuid("case_id"), remedies.RemedyInput(
        outcome=b.outcome, proceeding_id=b.proceeding_id, kind=b.kind, decision_id=b.decision_id, filed_on=b.filed_on,
        decided_on=b.decided_on, authority=b.authority, document_no=b.document_no, note=b.note),
        call.principal.actor, call.request.app[CLOCK])
    revocation = None if done.revocation is None else await revocation_out(call, done.revocation)
    return RemedyRecorded(**_remedy_out(done.entry).model_dump(), revocation=revocation)


@routes.route("GET", "/cases/{case_id}/remedies", access=READERS,
              summary="本案的行政复议、行政诉讼登记（按复议或诉讼分组，依次列出每个结果）",
              tag="cases", response=RemedyList, errors=(404,))
async def list_remedies(call: Call[None, None]) -> RemedyList:
    rows = await remedies.for_case(read_scope(call), call.path_uuid("case_id"))
    return RemedyList(items=[_remedy_out(r) for r in rows])


def _version_out(v: StatisticsVersion) -> StatisticsVersionOut:
    return StatisticsVersionOut(version=v.version, figures=FiguresOut.model_validate(v.figures), reason=v.reason,
                      submitted_at=v.submitted_at, submitted_by=v.actor_name, submitted_role=v.actor_role,
                      published_at=v.published_at, published_by=v.published_by_name or None, leaf_index=v.leaf_index)


def _agency_of(call: Call[None, StatisticsReportQuery]) -> uuid.UUID:
    asked = call.query.agency_id
    if call.principal.is_supervisor:
        if asked is None:
            raise ValidationFailed("监督机构查看统计年报须指定机关（agency_id）", code="agency_id_required")
        return asked
    if asked is not None and asked != call.principal.agency_id:
        raise Forbidden("只能查看本机关的统计年报", code="other_agency")
    return call.principal.agency_id


async def _report(agency_id: uuid.UUID, year: int) -> StatisticsReportOut:
    v = await statistics.view(agency_id, year)
    return StatisticsReportOut(agency_id=v.agency.id, agency_name=v.agency.name, year=year, status=v.status,
                     submit_due_on=statistics.submit_due_on(year), publish_due_on=statistics.publish_due_on(year),
                     current_version=v.report.current_version if v.report else 0,
                     published_version=v.report.published_version if v.report else None,
                     live=FiguresOut.model_validate(v.live), versions=[_version_out(x) for x in v.versions])


@routes.route("GET", "/statistics/{year}", access=READERS,
              summary="统计年报：即时计算的数字、状态、期限和历次报送的版本（机关看本机关；监督机构须指定 agency_id）",
              tag="statistics", query=StatisticsReportQuery, response=StatisticsReportOut, errors=(403, 404, 422))
async def get_report(call: Call[None, StatisticsReportQuery]) -> StatisticsReportOut:
    year = statistics.parse_year(call.path.get("year", ""), call.request.app[CLOCK])
    return await _report(_agency_of(call), year)


@routes.route("POST", "/statistics/{year}/submit", access=REPORTERS,
              summary="报送统计年报：冻结按现有记录计算的数字为新版本，报监督机构（次年1月15日前）；"
                      "再次报送须说明更正原因",
              tag="statistics", body=StatisticsSubmitIn, response=StatisticsReportOut, errors=(403, 409, 422))
async def submit_report(call: Call[StatisticsSubmitIn, None]) -> StatisticsReportOut:
    clock = call.request.app[CLOCK]
    year = statistics.parse_year(call.path.get("year", ""), clock, ended=True)
    agency_id = call.principal.agency_id
    await statistics.submit(agency_id, year, call.principal.actor, clock, reason=call.body.reason)
    return await _report(agency_id, year)


@routes.route("POST", "/statistics/{year}/publish", access=REPORTERS,
              summary="公开最近报送的统计年报版本（次年1月31日前；须先报送）",
              tag="statistics", response=StatisticsReportOut, errors=(403, 409, 422))
async def publish_report(call: Call[None, None]) -> StatisticsReportOut:
    clock = call.request.app[CLOCK]
    year = statistics.parse_year(call.path.get("year", ""), clock, ended=True)
    agency_id = call.principal.agency_id
    await statistics.publish(agency_id, year, call.principal.actor, clock)
    return await _report(agency_id, year)


def overdue_items(rows: list[statistics.OverdueReport]) -> list[StatisticsOverdueOut]:
    """The items of ``GET /api/v1/supervision/overdue?kind=statistics`` (the route lives with the review views)."""
    return [StatisticsOverdueOut(agency_id=o.agency_id, agency_name=o.agency_name, year=o.year, stage=o.stage,
                                 status=o.status, due_on=o.due_on, clock=o.colour, days_overdue=o.days_overdue)
            for o in rows]
