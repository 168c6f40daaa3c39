"""Publishing, correcting and withdrawing decisions, and agencies' own notices (R-P3, R-P4, R-N4).

Each change moves the DECISION machine, writes a new DecisionVersion, appends a case record entry
and writes the notification rows -- all in one transaction, so a committed event always has its
messages waiting in the outbox (R-N2) and a rolled-back one has none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import NotFound
from backend.models import Agency, Case, Decision, DecisionVersion, Notification, Party
from backend.models.enums import (
    ChannelPreference,
    DecisionVersionKind,
    NotificationChannel,
    NotificationEvent,
    RecordStep,
)
from backend.services import audit, masking, records
from backend.services.cases import case_parties, get_case, move_case, unreachable_reason
from backend.services.states import DECISION
from backend.settings import Settings
from notifications import templates

E = NotificationEvent
_ACTION_EVENT = {
    "publish": (E.DECISION_PUBLISHED, DecisionVersionKind.PUBLISH, "公示执法决定"),
    "correct": (E.DECISION_CORRECTED, DecisionVersionKind.CORRECT, "更正执法决定公示"),
    "withdraw": (E.DECISION_WITHDRAWN, DecisionVersionKind.WITHDRAW, "撤回执法决定公示"),
}


@dataclass
class EventResult:
    decision: Decision | None
    notification_ids: list[uuid.UUID]
    # Parties no message could go to, with the reason (cases.NO_CONTACT / OPTED_OUT): reported, not skipped.
    unreachable: list[tuple[Party, str]] = field(default_factory=list)


def unreachable_parties(parties: list[Party]) -> list[tuple[Party, str]]:
    return [(p, reason) for p in parties if (reason := unreachable_reason(p)) is not None]


def _unreachable_note(unreachable: list[tuple[Party, str]]) -> str:
    return f"；{len(unreachable)} 名当事人无法通知（无联系方式或不接收通知）" if unreachable else ""


def decision_url(settings: Settings, decision_id: uuid.UUID) -> str:
    return f"{settings.public_base_url}/d/{decision_id}"


def _channels_for(party: Party) -> NotificationChannel | None:
    """One message per party and event, on the party's preferred channel; WeChat needs a bound
    account (and, at send time, a subscription grant, else it falls back to SMS)."""
    pref = party.channel_preference
    if pref is ChannelPreference.NONE:
        return None
    if party.wechat_openid and pref in (ChannelPreference.WECHAT, ChannelPreference.BOTH):
        return NotificationChannel.WECHAT
    if party.phone:
        return NotificationChannel.SMS
    return None


def plan_notifications(settings: Settings, event: NotificationEvent, event_ref: str, agency_id: uuid.UUID,
                       case: Case, parties: list[Party], ctx: dict[str, str],
                       now: datetime | None = None) -> list[Notification]:
    """The outbox rows for one event. ``relayed_at=now``: the caller hands them over right after
    commit; should it die first, the relay picks them up ``notify_requeue_after`` seconds later."""
    remedies = templates.remedies_apply(case.type)  # no appeal text on a permit (notifications/templates.py)
    key = templates.sms_key(event, case.type)
    sms_code = settings.aliyun_sms_templates.get(key, key)
    wx_id = {**templates.DEFAULT_WECHAT_TEMPLATES, **settings.wechat_templates}.get(event.value, event.value)
    sms = templates.render_sms(event, sms_code, ctx, settings.aliyun_sms_sign_name or "", remedies=remedies)
    rows: list[Notification] = []
    for party in parties:
        channel = _channels_for(party)
        if channel is None:
            continue
        base = dict(event=event, event_ref=event_ref, agency_id=agency_id, case_id=case.id, party_id=party.id,
                    idempotency_key=f"{event.value}:{event_ref}:{party.id}:{channel.value}", channel=channel,
                    relayed_at=now)
        if channel is NotificationChannel.SMS:
            rows.append(Notification(**base, recipient=party.phone, template=sms.template,
                                     template_version=sms.version, params={"vars": sms.params},
                                     content=sms.content))
        else:
            wx = templates.render_wechat(event, wx_id, ctx, remedies=remedies)
            # The SMS twin travels with the row, ready for a fallback without re-reading the event.
            fallback = {"template": sms.template, "version": sms.version, "vars": sms.params,
                        "content": sms.content} if party.phone else None
            rows.append(Notification(**base, recipient=party.wechat_openid, template=wx.template,
                                     template_version=wx.version, params={**wx.params, "fallback": fallback},
                                     content=wx.content))
    return rows


async def _write_rows(rows: list[Notification]) -> list[uuid.UUID]:
    if rows:
        await Notification.bulk_create(rows)
    return [row.id for row in rows]


async def change_decision(settings: Settings, clock: Clock, agency_id: uuid.UUID, decision_id: uuid.UUID,
                          action: str, actor: str, *, summary: str | None = None,
                          reason: str = "") -> EventResult:
    event, kind, label = _ACTION_EVENT[action]
    async with in_transaction():
        decision = await Decision.filter(id=decision_id, agency_id=agency_id).select_for_update().first()
        if decision is None:
            raise NotFound("未找到该执法决定", code="decision_not_found")
        decision.status = DECISION.next(decision.status, action)
        now = clock.now()
        if action == "correct" and summary is not None:
            decision.summary = summary
        if action == "publish":
            decision.published_at = now
        decision.current_version += 1
        case = await Case.filter(id=decision.case_id).select_for_update().first()
        assert case is not None
        if action == "publish":
            await move_case(case, "execute")  # the case status follows its events (services/cases.py)
        parties = await case_parties(case.id)
        # Only the masked text is stored in a version: the public never sees the raw summary (R-P2).
        decision.public_party_name = masking.joined_public_names(parties)
        public_reason = masking.mask_text(reason, parties)
        version = await DecisionVersion.create(
            decision=decision, version=decision.current_version, kind=kind,
            public_text=masking.mask_text(decision.summary, parties), reason=public_reason, actor=actor)
        # Every party gets the same message: only the masked text, never another party's data.
        change = ""
        if action == "correct" and summary is not None:
            change = f"{public_reason}（更正后：{version.public_text}）" if reason else version.public_text
        await decision.save()
        unreachable = unreachable_parties(parties)
        text = f"{label}：{decision.document_no}" + (f"，理由：{reason}" if reason else "")
        text += _unreachable_note(unreachable)
        await records.append(case, RecordStep.PUBLICATION, text, actor, now)
        ctx = {"doc": decision.document_no, "url": decision_url(settings, decision.id), "change": change,
               "reason": public_reason, "decision_id": str(decision.id), "date": now.strftime("%Y-%m-%d %H:%M")}
        rows = plan_notifications(settings, event, str(version.id), agency_id, case, parties, ctx, now)
        ids = await _write_rows(rows)
        await audit.record(actor, f"decision.{action}", "decision", decision.id, agency_id=agency_id,
                           data={"version": version.version, "notifications": len(ids),
                                 "unreachable": len(unreachable)})
    return EventResult(decision, ids, unreachable)


async def agency_notice(settings: Settings, clock: Clock, agency_id: uuid.UUID, case_id: uuid.UUID,
                        text: str, actor: str) -> EventResult:
    case = await get_case(agency_id, case_id)
    agency = await Agency.get(id=agency_id)
    ctx = {"agency": agency.name[:20], "case": case.number, "case_id": str(case.id), "text": text,
           "date": clock.now().strftime("%Y-%m-%d %H:%M")}
    templates.check_notice_text(text, ctx)  # refuse before writing anything
    async with in_transaction():
        locked = await Case.filter(id=case_id).select_for_update().first()
        assert locked is not None
        case = locked
        parties = await case_parties(case.id)
        unreachable = unreachable_parties(parties)
        entry = await records.append(case, RecordStep.NOTICE, f"机构通知：{text}" + _unreachable_note(unreachable),
                                     actor, clock.now())
        rows = plan_notifications(settings, E.AGENCY_NOTICE, f"record:{entry.id}", agency_id, case,
                                  parties, ctx, clock.now())
        ids = await _write_rows(rows)
        await audit.record(actor, "case.notice", "case", case.id, agency_id=agency_id,
                           data={"notifications": len(ids), "unreachable": len(unreachable)})
    return EventResult(None, ids, unreachable)
