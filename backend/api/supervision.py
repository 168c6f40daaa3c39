"""Orders to rectify (R-X3) and the views of enforcement activity (R-X4): thin handlers over
``services/supervision``. The overdue view (``kind=rectification``) lives with the other overdue
kinds in ``api/reviews.py``."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from backend.api.supervision_schemas import (
    AcceptIn,
    IdleAgencyOut,
    OwnRectificationQuery,
    RectificationAnswerIn,
    RectificationIn,
    RectificationOut,
    RectificationOverdueOut,
    RectificationPage,
    RectificationQuery,
    RectificationStepOut,
    RepeatedInspectionOut,
    RepeatedInspectionsOut,
    ReturnIn,
    VisitOut,
    WindowQuery,
    YearQuery,
    ZeroEnforcementOut,
)
from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import Call, RouteTable
from backend.models import Rectification, RectificationEvent
from backend.models.enums import Role
from backend.services.supervision import activity, rectifications

routes = RouteTable("/api/v1")
SUPERVISOR = {Role.SUPERVISOR}
AGENCY = set(rectifications.AGENCY_READERS)
ERRORS = (404, 409, 422)


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) and value else None


def _step(e: RectificationEvent) -> RectificationStepOut:
    due = e.data.get("due_on")
    return RectificationStepOut(action=e.action, status=e.status, text=e.text, at=e.at, actor_name=e.actor_name,
                                actor_role=e.actor_role, due_on=date.fromisoformat(due) if due else None,
                                evidence_id=_uuid(e.data.get("evidence_id")),
                                escalated_to=_uuid(e.data.get("escalated_to")), leaf_index=e.leaf_index)


def rectification_out(r: Rectification, agency_name: str, today: date,
                      events: list[RectificationEvent] | None = None) -> RectificationOut:
    late = rectifications.days_overdue(r, today)
    return RectificationOut(
        id=r.id, agency_id=r.agency_id, agency_name=agency_name, ordered_by_agency_id=r.ordered_by_agency_id,
        ordered_by_name=r.ordered_by_name, subject=r.subject, due_on=r.due_on, status=r.status, case_id=r.case_id,
        complaint_id=r.complaint_id, ordered_at=r.ordered_at, answer=r.answer, answer_evidence_id=r.answer_evidence_id,
        answered_at=r.answered_at, escalated_at=r.escalated_at, closed_at=r.closed_at,
        overdue=r.status in rectifications.OPEN and today > r.due_on, days_overdue=late,
        steps=[_step(e) for e in events or []])


async def _one(call: Call[Any, Any], r: Rectification) -> RectificationOut:
    names = await rectifications.agency_names([r])
    return rectification_out(r, names.get(r.agency_id, ""), call.request.app[CLOCK].today(),
                             await rectifications.events(r.id))


async def _page(call: Call[Any, Any], rows: list[Rectification], total: int, page: int,
                page_size: int) -> RectificationPage:
    names, today = await rectifications.agency_names(rows), call.request.app[CLOCK].today()
    return RectificationPage(items=[rectification_out(r, names.get(r.agency_id, ""), today) for r in rows],
                             page=page, page_size=page_size, total=total)


# -- the supervising body ----------------------------------------------------------------------------

@routes.route("POST", "/supervision/rectifications", access=SUPERVISOR, status=201, tag="supervision",
              body=RectificationIn, response=RectificationOut, errors=ERRORS,
              summary="责令整改：机关、整改事项、期限（可关联本机关案件或投诉）；只有该机关的执法监督机构可以下达，"
                      "逾期未书面答复的自动提请政府层级督办")
async def order(call: Call[RectificationIn, None]) -> RectificationOut:
    b, p = call.body, call.principal
    r = await rectifications.order(rectifications.Order(b.agency_id, b.subject, b.due_on, b.case_id, b.complaint_id),
                                   p.agency_id, p.actor, call.request.app[CLOCK])
    return await _one(call, r)


@routes.route("GET", "/supervision/rectifications", access=SUPERVISOR, tag="supervision",
              query=RectificationQuery, response=RectificationPage,
              summary="各机关的整改事项（分页；可按状态、机关、是否逾期筛选；期限最早的在前）")
async def supervision_list(call: Call[None, RectificationQuery]) -> RectificationPage:
    q = call.query
    rows, total = await rectifications.search(None, call.request.app[CLOCK], status=q.status, agency_id=q.agency_id,
                                              overdue=q.overdue, page=q.page, page_size=q.page_size)
    return await _page(call, rows, total, q.page, q.page_size)


@routes.route("GET", "/supervision/rectifications/{rectification_id}", access=SUPERVISOR, tag="supervision",
              response=RectificationOut, errors=(404,), summary="一件整改事项及其全部环节（每个环节的责任人）")
async def supervision_get(call: Call[None, None]) -> RectificationOut:
    return await _one(call, await rectifications.get(call.path_uuid("rectification_id"), None))


@routes.route("POST", "/supervision/rectifications/{rectification_id}/accept", access=SUPERVISOR,
              tag="supervision", body=AcceptIn, response=RectificationOut, errors=ERRORS,
              summary="认可整改（已书面答复 → 整改已认可）")
async def accept(call: Call[AcceptIn, None]) -> RectificationOut:
    p = call.principal
    r = await rectifications.accept(call.path_uuid("rectification_id"), p.agency_id, call.body.note, p.actor,
                                    call.request.app[CLOCK])
    return await _one(call, r)


@routes.route("POST", "/supervision/rectifications/{rectification_id}/return", access=SUPERVISOR,
              tag="supervision", body=ReturnIn, response=RectificationOut, errors=ERRORS,
              summary="退回整改答复（已书面答复 → 答复被退回；写明理由，可给新的期限）")
async def send_back(call: Call[ReturnIn, None]) -> RectificationOut:
    p, b = call.principal, call.body
    r = await rectifications.send_back(call.path_uuid("rectification_id"), p.agency_id, b.reason, b.due_on, p.actor,
                                       call.request.app[CLOCK])
    return await _one(call, r)


# -- the agency --------------------------------------------------------------------------------------

@routes.route("GET", "/rectifications", access=AGENCY, tag="supervision", query=OwnRectificationQuery,
              response=RectificationPage, summary="本机关被责令整改的事项（管理员和负责人）")
async def own_list(call: Call[None, OwnRectificationQuery]) -> RectificationPage:
    q = call.query
    rows, total = await rectifications.search(call.principal.agency_id, call.request.app[CLOCK], status=q.status,
                                              overdue=q.overdue, page=q.page, page_size=q.page_size)
    return await _page(call, rows, total, q.page, q.page_size)


@routes.route("GET", "/rectifications/{rectification_id}", access=AGENCY, tag="supervision",
              response=RectificationOut, errors=(404,), summary="本机关的一件整改事项及其全部环节")
async def own_get(call: Call[None, None]) -> RectificationOut:
    return await _one(call, await rectifications.get(call.path_uuid("rectification_id"), call.principal.agency_id))


@routes.route("POST", "/rectifications/{rectification_id}/answer", access=AGENCY, tag="supervision",
              body=RectificationAnswerIn, response=RectificationOut, errors=ERRORS,
              summary="书面答复整改情况（可附本机关已上传的一份证据文件作为整改材料；退回或督办后可再次答复）")
async def answer_rectification(call: Call[RectificationAnswerIn, None]) -> RectificationOut:
    p, b = call.principal, call.body
    r = await rectifications.answer(call.path_uuid("rectification_id"), p.agency_id, b.answer, b.evidence_id,
                                    p.actor, call.request.app[CLOCK])
    return await _one(call, r)


# -- views -------------------------------------------------------------------------------------------

async def overdue_items(call: Call[Any, Any], page: int, page_size: int, *,
                        scope: uuid.UUID | None) -> tuple[list[RectificationOverdueOut], int]:
    """``GET /api/v1/supervision/overdue?kind=rectification`` and the agency's own ``/api/v1/overdue``."""
    rows, total = await rectifications.overdue(call.request.app[CLOCK], page=page, page_size=page_size, scope=scope)
    return [RectificationOverdueOut(
        rectification_id=o.rectification.id, agency_id=o.rectification.agency_id, agency_name=o.agency_name,
        status=o.rectification.status, due_on=o.rectification.due_on, days_overdue=o.days_overdue,
        escalated=o.rectification.escalated_at is not None) for o in rows], total


ZERO_RULE = "该年内没有作出任何执法决定，也没有任何案件环节（检查、调查、送达……）发生"
REPEATED_RULE = "同一企业（统一社会信用代码）在窗口内被现场检查两次及以上；同一机关同一天的检查记为一次"


@routes.route("GET", "/supervision/zero-enforcement", access=SUPERVISOR, tag="supervision", query=YearQuery,
              response=ZeroEnforcementOut, errors=(422,),
              summary="零执法的机关：该年内没有执法决定，也没有任何案件环节（今年为截至今天）")
async def zero_enforcement(call: Call[None, YearQuery]) -> ZeroEnforcementOut:
    found = await activity.zero_enforcement(call.request.app[CLOCK], call.query.year)
    return ZeroEnforcementOut(year=found.year, complete=found.complete, agencies_checked=found.agencies_checked,
                              rule=ZERO_RULE, items=[IdleAgencyOut(
                                  agency_id=i.agency_id, agency_name=i.agency_name, region=i.region,
                                  last_enforcement_on=i.last_enforcement_on) for i in found.items])


@routes.route("GET", "/supervision/repeated-inspections", access=SUPERVISOR, tag="supervision", query=WindowQuery,
              response=RepeatedInspectionsOut, errors=(422,),
              summary="重复检查：同一企业（统一社会信用代码）在窗口内被现场检查两次及以上（窗口默认 "
                      "YANGGUANG_REPEATED_INSPECTION_DAYS 天）")
async def repeated_inspections(call: Call[None, WindowQuery]) -> RepeatedInspectionsOut:
    days = call.query.days or call.request.app[SETTINGS].repeated_inspection_days
    since, until, found = await activity.repeated_inspections(call.request.app[CLOCK], days)
    return RepeatedInspectionsOut(since=since, until=until, days=days, rule=REPEATED_RULE, items=[
        RepeatedInspectionOut(credit_code=r.credit_code, name=r.name, visits=len(r.visits),
                              agencies=len({v.agency_id for v in r.visits}),
                              items=[VisitOut(agency_id=v.agency_id, agency_name=v.agency_name, on=v.on,
                                              case_ids=v.case_ids) for v in r.visits]) for r in found])
