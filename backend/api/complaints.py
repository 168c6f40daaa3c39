"""The agency's and the supervisor's side of complaints (R-X2): the list, one complaint with its steps,
acknowledge, handle, answer, the agency's limits, and satisfaction per agency. Thin handlers over
``services/complaints``; who may see what is decided there (``handling.Viewer``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from aiohttp import web

from backend.api.complaint_schemas import (
    AnswerIn,
    ComplainantOut,
    ComplaintOut,
    ComplaintOverdueOut,
    ComplaintPage,
    ComplaintQuery,
    ComplaintStepOut,
    LimitsIn,
    LimitsOut,
    SatisfactionOut,
    SatisfactionRowOut,
    StepIn,
)
from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import Call, RouteTable
from backend.models import Complaint, ComplaintEvent
from backend.models.enums import Role
from backend.outbox import get_outbox
from backend.services.complaints import handling, photos

routes = RouteTable("/api/v1")
READERS = {Role.ADMIN, Role.HEAD, Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR}
HANDLERS = {Role.ADMIN, Role.HEAD}  # who acknowledges, handles and answers for the agency


async def _viewer(call: Call[Any, Any]) -> handling.Viewer:
    p = call.principal
    return await handling.viewer(p.key_id, p.agency_id, p.role)


def complaint_out(c: Complaint, viewer: handling.Viewer, events: list[ComplaintEvent], today: date) -> ComplaintOut:
    identity = ComplainantOut(phone=c.contact_phone, wechat=c.wechat_openid is not None, address=c.address) \
        if viewer.sees_identity else None
    return ComplaintOut(
        id=c.id, tracking_no=c.tracking_no, kind=c.kind, about=c.about, agency_id=c.agency_id,
        officer_id=c.officer_id, case_id=c.case_id, decision_id=c.decision_id, text=handling.text_for(viewer, c.text),
        photos=[p["upload_id"] for p in c.photos],
        latitude=float(c.latitude) if c.latitude is not None else None,
        longitude=float(c.longitude) if c.longitude is not None else None, anonymous=c.anonymous,
        complainant=identity, status=c.status, submitted_at=c.submitted_at or c.created_at,
        acknowledge_due_on=c.acknowledge_due_on, answer_due_on=c.answer_due_on,
        due_on_provisional=c.due_on_provisional, overdue=handling.lateness(c, today),
        acknowledged_at=c.acknowledged_at, answered_at=c.answered_at, escalated_at=c.escalated_at,
        escalation_reason=c.escalation_reason, answer=c.answer, satisfaction=c.satisfaction, leaf_index=c.leaf_index,
        steps=[ComplaintStepOut(action=e.action, status=e.status, note=handling.text_for(viewer, e.note),
                       score=e.data.get("score"), reason=e.data.get("reason"), at=e.at or e.created_at,
                       actor_name=e.actor_name, actor_role=e.actor_role, leaf_index=e.leaf_index) for e in events])


@routes.route("GET", "/complaints", access=READERS, tag="complaints", query=ComplaintQuery, response=ComplaintPage,
              summary="本机构收到的投诉举报（分页；可按状态、是否超期筛选；监督机构可看全部；"
                      "执法人员看不到针对本人的投诉）")
async def list_complaints(call: Call[None, ComplaintQuery]) -> ComplaintPage:
    q, viewer, today = call.query, await _viewer(call), call.request.app[CLOCK].today()
    rows, total = await handling.search(viewer, call.request.app[CLOCK], status=q.status, overdue=q.overdue,
                                        page=q.page, page_size=q.page_size)
    return ComplaintPage(items=[complaint_out(r, viewer, [], today) for r in rows], page=q.page,
                         page_size=q.page_size, total=total)


@routes.route("GET", "/complaints/{complaint_id}", access=READERS, tag="complaints", response=ComplaintOut,
              errors=(404,), summary="一件投诉及其全部办理环节（投诉人身份仅管理员和监督机构可见）")
async def get_complaint(call: Call[None, None]) -> ComplaintOut:
    viewer = await _viewer(call)
    c = await handling.get(viewer, call.path_uuid("complaint_id"))
    return complaint_out(c, viewer, await handling.events(c.id), call.request.app[CLOCK].today())


async def _act(call: Call[Any, Any], action: str, note: str) -> ComplaintOut:
    app, viewer = call.request.app, await _viewer(call)
    done = await handling.act(app[SETTINGS], app[CLOCK], viewer, call.path_uuid("complaint_id"), action,
                              call.principal.actor, note)
    await get_outbox(app).dispatch(done.notification_ids)  # after commit; the relay covers a lost hand-over
    return complaint_out(done.complaint, viewer, await handling.events(done.complaint.id), app[CLOCK].today())


@routes.route("POST", "/complaints/{complaint_id}/acknowledge", access=HANDLERS, tag="complaints", body=StepIn,
              response=ComplaintOut, errors=(404, 409, 422),
              summary="受理投诉（已提交 → 已受理；投诉人经验证的手机收到短信）")
async def acknowledge(call: Call[StepIn, None]) -> ComplaintOut:
    return await _act(call, "acknowledge", call.body.note)


@routes.route("POST", "/complaints/{complaint_id}/handle", access=HANDLERS, tag="complaints", body=StepIn,
              response=ComplaintOut, errors=(404, 409, 422), summary="开始办理投诉（→ 办理中）")
async def handle(call: Call[StepIn, None]) -> ComplaintOut:
    return await _act(call, "handle", call.body.note)


@routes.route("POST", "/complaints/{complaint_id}/answer", access=HANDLERS, tag="complaints", body=AnswerIn,
              response=ComplaintOut, errors=(404, 409, 422),
              summary="答复投诉（→ 已答复；投诉人凭查询码看到答复并评价，评分 ≤ 2 立即上报监督机构）")
async def answer(call: Call[AnswerIn, None]) -> ComplaintOut:
    return await _act(call, "answer", call.body.answer)


@routes.route("GET", "/complaints/{complaint_id}/photos/{upload_id}", access=READERS, tag="complaints",
              produces="image/jpeg", errors=(404,), summary="投诉照片（重新编码的 JPEG，不含 EXIF 与 GPS）")
async def complaint_photo(call: Call[None, None]) -> web.StreamResponse:
    c = await handling.get(await _viewer(call), call.path_uuid("complaint_id"))
    path = await photos.photo_file(call.request.app[SETTINGS].data_dir, c.id, call.path_uuid("upload_id"))
    return web.FileResponse(path, headers={"Cache-Control": "private, no-store", "Content-Type": "image/jpeg"})


def _limits_out(limits: handling.Limits) -> LimitsOut:
    return LimitsOut(acknowledge_days=limits.acknowledge_days, answer_days=limits.answer_days, custom=limits.custom)


@routes.route("GET", "/complaint-limits", access=HANDLERS, tag="complaints", response=LimitsOut,
              summary="本机构的投诉办理时限（工作日）")
async def get_limits(call: Call[None, None]) -> LimitsOut:
    return _limits_out(await handling.limits(call.principal.agency_id))


@routes.route("PUT", "/complaint-limits", access={Role.ADMIN}, tag="complaints", body=LimitsIn, response=LimitsOut,
              errors=(422,), summary="设置本机构的投诉办理时限（对此后收到的投诉生效）")
async def put_limits(call: Call[LimitsIn, None]) -> LimitsOut:
    return _limits_out(await handling.set_limits(call.principal.agency_id, call.body.acknowledge_days,
                                                 call.body.answer_days, call.principal.actor))


@routes.route("GET", "/supervision/complaints", access={Role.SUPERVISOR}, tag="supervision",
              response=SatisfactionOut,
              summary="各机关投诉办理情况：收到、未答复、超期、上报督办，答复满意率（评分 ≥ 4 的占比，目标 ≥ 90%）")
async def supervision_complaints(call: Call[None, None]) -> SatisfactionOut:
    rows = await handling.satisfaction(call.request.app[CLOCK])
    return SatisfactionOut(target_percent=handling.TARGET_PERCENT, items=[SatisfactionRowOut(
        agency_id=r.agency_id, agency_name=r.agency_name, received=r.received, open=r.open, overdue=r.overdue,
        escalated=r.escalated, rated=r.rated, satisfied=r.satisfied, satisfaction_percent=r.percent,
        meets_target=r.meets_target) for r in rows], below_target=sum(1 for r in rows if r.meets_target is False))


async def overdue_items(call: Call[Any, Any], page: int, page_size: int, *,
                        scope: uuid.UUID | None) -> tuple[list[ComplaintOverdueOut], int]:
    """``GET /api/v1/supervision/overdue?kind=complaint`` and the agency's own ``/api/v1/overdue``
    (the routes live with the review views); ``scope`` narrows to one agency."""
    rows, total = await handling.overdue(call.request.app[CLOCK], page=page, page_size=page_size, scope=scope)
    return [ComplaintOverdueOut(
        complaint_id=o.complaint.id, tracking_no=o.complaint.tracking_no, agency_id=o.complaint.agency_id,
        agency_name=o.agency_name, status=o.complaint.status, late=o.late, due_on=o.due_on,
        due_on_provisional=o.complaint.due_on_provisional, days_overdue=o.days_overdue,
        escalated=o.complaint.escalated_at is not None) for o in rows], total
