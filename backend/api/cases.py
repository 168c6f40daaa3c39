"""Cases, their parties and notices; the notification log (R-N3, R-N4). Thin handlers."""

from __future__ import annotations

import uuid

from backend.api.case_schemas import (
    BindingCodeOut,
    CaseCreate,
    CaseOut,
    CasePage,
    CaseQuery,
    NoticeCreate,
    NoticeOut,
    NotificationPage,
    NotificationQuery,
    PartyOut,
    UnreachablePartyOut,
    notification_out,
)
from backend.app_keys import CLOCK, RATE_LIMITER, SETTINGS
from backend.errors import Forbidden
from backend.http.routing import Call, RouteTable
from backend.models import Case, Party
from backend.models.enums import Role
from backend.outbox import get_outbox
from backend.services import cases, notifications_log, ratelimit
from backend.services.parties import bindings
from notifications import outgoing

routes = RouteTable("/api/v1")
WRITERS = {Role.ADMIN, Role.OFFICER}
READERS = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD, Role.SUPERVISOR}


def _party_out(party: Party, code: str | None = None) -> PartyOut:
    reason = outgoing.unreachable_reason(party)
    return PartyOut(id=party.id, name=party.name, kind=party.kind, is_minor=party.is_minor, has_phone=bool(party.phone),
                    has_wechat=bool(party.wechat_openid), reachable=reason is None,
                    unreachable_reason=reason, binding_code=code)


def unreachable_out(pairs: list[tuple[Party, str]]) -> list[UnreachablePartyOut]:
    return [UnreachablePartyOut(party_id=p.id, name=p.name, reason=reason,
                                reason_text=outgoing.UNREACHABLE_WORDS[reason]) for p, reason in pairs]


def read_scope(call: Call) -> uuid.UUID | None:
    """The agency whose rows the caller may read; None for the supervisor (every agency)."""
    return None if call.principal.is_supervisor else call.principal.agency_id


def _case_out(case: Case, parties: list[PartyOut]) -> CaseOut:
    return CaseOut(id=case.id, number=case.number, title=case.title, type=case.type, status=case.status,
                   created_at=case.created_at, parties=parties)


@routes.route("POST", "/cases", access=WRITERS, summary="立案（含当事人）", tag="cases",
              body=CaseCreate, response=CaseOut, status=201, errors=(409, 422))
async def create_case(call: Call[CaseCreate, None]) -> CaseOut:
    case, parties = await cases.create_case(call.principal.agency_id, call.body.model_dump(),
                                            call.principal.actor, call.request.app[CLOCK])
    return _case_out(case, [_party_out(p, code) for p, code in parties])


@routes.route("GET", "/cases", access=READERS, summary="案件列表（分页，可按状态、编号、立案日期筛选）",
              tag="cases", query=CaseQuery, response=CasePage, errors=(403,))
async def list_cases(call: Call[None, CaseQuery]) -> CasePage:
    q = call.query
    scope = call.principal.agency_id
    if call.principal.is_supervisor:
        scope = q.agency_id
    elif q.agency_id is not None and q.agency_id != call.principal.agency_id:
        raise Forbidden("只能查看本机构的案件", code="other_agency")
    flt = cases.CaseFilter(status=q.status, number=q.number, created_from=q.created_from, created_to=q.created_to)
    rows, parties, total = await cases.list_cases(scope, flt, page=q.page, page_size=q.page_size)
    return CasePage(items=[_case_out(c, [_party_out(p) for p in parties[c.id]]) for c in rows],
                    page=q.page, page_size=q.page_size, total=total)


@routes.route("GET", "/cases/{case_id}", access=READERS, summary="查看案件", tag="cases",
              response=CaseOut, errors=(404,))
async def get_case(call: Call[None, None]) -> CaseOut:
    scope = read_scope(call)
    case = await cases.get_case(scope, call.path_uuid("case_id"))
    return _case_out(case, [_party_out(p) for p in await cases.case_parties(case.id)])


@routes.route("POST", "/cases/{case_id}/parties/{party_id}/binding-code", access=WRITERS,
              summary="为当事人重新发放绑定码（旧绑定码失效，原微信绑定解除）", tag="cases",
              response=BindingCodeOut, status=201, errors=(404,))
async def reissue_binding_code(call: Call[None, None]) -> BindingCodeOut:
    case_id, party_id = call.path_uuid("case_id"), call.path_uuid("party_id")
    code, ended = await bindings.reissue_code(call.principal.agency_id, case_id, party_id, call.principal.actor,
                                              call.request.app[CLOCK])
    return BindingCodeOut(case_id=case_id, party_id=party_id, binding_code=code, ended_binding=ended)


@routes.route("POST", "/cases/{case_id}/notices", access=WRITERS, summary="向案件当事人发送机构通知",
              tag="cases", body=NoticeCreate, response=NoticeOut, status=201, errors=(404, 422, 429))
async def send_notice(call: Call[NoticeCreate, None]) -> NoticeOut:
    app = call.request.app
    case_id = call.path_uuid("case_id")
    await cases.get_case(call.principal.agency_id, case_id)  # 404 before spending the budget
    await ratelimit.spend(app[RATE_LIMITER], ratelimit.AGENCY_NOTICES, app[SETTINGS], str(call.principal.agency_id))
    result = await cases.send_notice(app[SETTINGS], app[CLOCK], call.principal.agency_id, case_id,
                                      call.body.text, call.principal.actor)
    await get_outbox(app).dispatch(result.notification_ids)
    return NoticeOut(case_id=case_id, notifications=len(result.notification_ids),
                     unreachable_parties=unreachable_out(result.unreachable))


@routes.route("GET", "/notifications", access=READERS, summary="案件的通知投递记录（状态、次数、回执）",
              tag="notifications", query=NotificationQuery, response=NotificationPage, errors=(404,))
async def list_notifications(call: Call[None, NotificationQuery]) -> NotificationPage:
    q = call.query
    scope = read_scope(call)
    await cases.get_case(scope, q.case_id)
    rows, receipts, total = await notifications_log.for_case(q.case_id, page=q.page, page_size=q.page_size)
    unreachable = outgoing.unreachable_parties(await cases.case_parties(q.case_id))
    return NotificationPage(items=[notification_out(n, receipts.get(n.id, [])) for n in rows],
                            page=q.page, page_size=q.page_size, total=total,
                            unreachable_parties=unreachable_out(unreachable))
