"""The parties' mini-program: sign in, bind to one's own case, follow it (issue 12). Thin handlers:
the rules are ``backend/services/parties/``."""

from __future__ import annotations

from backend.app_keys import CLOCK, RATE_LIMITER, SETTINGS
from backend.http.routing import PARTY, PUBLIC, Call, RouteTable
from backend.outbox import get_outbox
from backend.services import ratelimit
from backend.services.parties import bindings, progress, sessions
from backend.services.parties.sessions import PartySession
from backend.services.ratelimit import BINDING_PER_CLIENT, BINDING_SMS_PER_CLIENT, MP_SIGN_IN, PARTY_READS
from miniprogram_api import wechat_login
from miniprogram_api.handlers.party_schemas import (
    BindCase,
    BoundCaseOut,
    DeadlineOut,
    MyCaseDetail,
    MyCaseOut,
    MyCasePage,
    MyDecisionOut,
    MyNoticeOut,
    MyPartyOut,
    MyVersionOut,
    PartyStepOut,
    Preferences,
    PreferencesOut,
    SessionOut,
    SignIn,
    SmsCodeRequest,
    SmsCodeSent,
)

routes = RouteTable("/mp/v1")


def _case_out(c: progress.MyCase) -> MyCaseOut:
    return MyCaseOut(id=c.id, number=c.number, title=c.title, type=c.type, status=c.status,
                     agency_name=c.agency_name, bound_at=c.bound_at)


def _party_out(p: progress.MyParty) -> MyPartyOut:
    return MyPartyOut(id=p.id, kind=p.kind, name=p.name, has_phone=p.has_phone,
                      channel_preference=p.channel_preference, wechat_consent=p.wechat_consent)


@routes.route("POST", "/session", access=PUBLIC, summary="小程序登录（wx.login 凭证换取会话令牌）", tag="parties",
              body=SignIn, response=SessionOut, status=201, errors=(401, 503), limit=MP_SIGN_IN)
async def mp_sign_in(call: Call[SignIn, None]) -> SessionOut:
    app = call.request.app
    user = await wechat_login.exchange(app, call.body.code)
    issued = await sessions.sign_in(user.openid, sandbox=user.sandbox, settings=app[SETTINGS], clock=app[CLOCK])
    return SessionOut(session_token=issued.token, expires_in=issued.expires_in, sandbox=issued.sandbox)


@routes.route("DELETE", "/session", access=PARTY, summary="退出登录（吊销当前会话令牌）", tag="parties")
async def mp_sign_out(call: Call[None, None]) -> None:
    await sessions.revoke(call.principal, call.request.app[CLOCK])


@routes.route("GET", "/me/cases", access=PARTY, summary="我的案件", tag="parties", response=MyCasePage,
              limit=PARTY_READS)
async def my_cases(call: Call[None, None]) -> MyCasePage:
    return MyCasePage(items=[_case_out(c) for c in await progress.my_cases(call.principal)])


@routes.route("POST", "/me/cases", access=PARTY, summary="绑定本人的案件（一次性绑定码或短信验证码）",
              tag="parties", body=BindCase, response=BoundCaseOut, status=201, errors=(404, 409),
              limit=BINDING_PER_CLIENT)
async def bind_my_case(call: Call[BindCase, None]) -> BoundCaseOut:
    app, session, body = call.request.app, call.principal, call.body
    assert isinstance(session, PartySession)
    # Every attempt, right or wrong, spends the session's budget too (the client's is the route's).
    await ratelimit.spend(app[RATE_LIMITER], ratelimit.BINDING_PER_SESSION, app[SETTINGS], str(session.session_id))
    if body.binding_code is not None:
        bound = await bindings.bind_with_code(session, body.case_number, body.binding_code, app[SETTINGS],
                                              app[CLOCK])
    else:
        assert body.sms_code is not None
        bound = await bindings.bind_with_sms(session, body.case_number, body.sms_code, app[SETTINGS], app[CLOCK])
    await get_outbox(app).dispatch(bound.notification_ids)
    [summary] = [c for c in await progress.my_cases(session) if c.id == bound.case.id]
    return BoundCaseOut(case=_case_out(summary), method=bound.binding.method.value,
                 party_notified_by_sms=bool(bound.notification_ids))


@routes.route("POST", "/me/cases/sms-code", access=PARTY, summary="向办案机关登记的手机号发送绑定验证码",
              tag="parties", body=SmsCodeRequest, response=SmsCodeSent, status=202, limit=BINDING_SMS_PER_CLIENT)
async def request_binding_sms(call: Call[SmsCodeRequest, None]) -> SmsCodeSent:
    app = call.request.app
    await ratelimit.spend(app[RATE_LIMITER], ratelimit.BINDING_PER_SESSION, app[SETTINGS],
                          str(call.principal.session_id))
    ids = await bindings.request_sms_code(call.principal, call.body.case_number, call.body.phone, app[SETTINGS],
                                          app[CLOCK])
    await get_outbox(app).dispatch(ids)
    return SmsCodeSent(expires_in=bindings.SMS_CODE_MINUTES * 60)


@routes.route("GET", "/me/cases/{case_id}", access=PARTY, summary="我的案件进度（步骤、决定、通知、期限）",
              tag="parties", response=MyCaseDetail, errors=(404,), limit=PARTY_READS)
async def my_case(call: Call[None, None]) -> MyCaseDetail:
    view = await progress.case_view(call.principal, call.path_uuid("case_id"), call.request.app[CLOCK])
    return MyCaseDetail(
        case=_case_out(view.case),
        parties=[_party_out(p) for p in view.parties],
        steps=[PartyStepOut(seq=s.seq, step=s.step, label=s.label, occurred_at=s.occurred_at, officers=s.officers,
                       service_method=s.service_method, corrects_seq=s.corrects_seq) for s in view.steps],
        decisions=[MyDecisionOut(id=d.id, document_no=d.document_no, type=d.type, decided_at=d.decided_at,
                                 status=d.status,
                                 versions=[MyVersionOut(version=v.version, kind=v.kind, at=v.at,
                                                      public_text=v.public_text, reason=v.reason)
                                           for v in d.versions]) for d in view.decisions],
        notices=[MyNoticeOut(id=n.id, event=n.event, channel=n.channel, content=n.content, status=n.status,
                           created_at=n.created_at, sent_at=n.sent_at, delivered_at=n.delivered_at)
                 for n in view.notices],
        deadlines=[DeadlineOut(kind=d.deadline.kind, label=d.deadline.label, decision_id=d.deadline.decision_id,
                               starts_on=d.deadline.starts_on, due_on=d.deadline.due_on, unit=d.deadline.unit,
                               length=d.deadline.length, days_left=d.days_left, law=d.deadline.law)
                   for d in view.deadlines],
    )


@routes.route("DELETE", "/me/cases/{case_id}", access=PARTY, tag="parties", errors=(404,), limit=PARTY_READS,
              summary="解除本人与该案件的绑定（通知改回以短信发至办案机关登记的手机号，并以短信告知当事人）")
async def unbind_my_case(call: Call[None, None]) -> None:
    app = call.request.app
    unbound = await bindings.unbind(call.principal, call.path_uuid("case_id"), app[SETTINGS], app[CLOCK])
    await get_outbox(app).dispatch(unbound.notification_ids)


@routes.route("PATCH", "/me/cases/{case_id}/preferences", access=PARTY, summary="设置本案通知渠道与微信授权",
              tag="parties", body=Preferences, response=PreferencesOut, errors=(404,), limit=PARTY_READS)
async def set_my_preferences(call: Call[Preferences, None]) -> PreferencesOut:
    parties = await progress.set_preferences(call.principal, call.path_uuid("case_id"),
                                             channel=call.body.channel_preference,
                                             wechat_consent=call.body.wechat_consent)
    return PreferencesOut(parties=[_party_out(p) for p in parties])
