"""Who gets a message about an event, on which channel, with which words: the outbox rows.

One rule decides both the channel of a party's message and why a party cannot be reached, so the
case view (R-N3) and the rows written for an event can never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q
from tortoise.models import Model

from backend.models import Case, Decision, Notification, Party
from backend.models.enums import ChannelPreference, NotificationChannel, NotificationEvent, NotificationStatus
from backend.settings import Settings
from notifications import templates

# Why a party cannot be notified: shown on the case and in the notification view (R-N3).
NO_CONTACT = "no_contact"  # neither a phone number nor a bound WeChat account
OPTED_OUT = "opted_out"  # the party chose to receive no messages
UNREACHABLE_WORDS = {NO_CONTACT: "没有手机号，也未绑定微信，无法通知", OPTED_OUT: "当事人选择不接收通知"}


@dataclass
class EventResult:
    """What an event left behind: the decision it changed (if any), the outbox rows to hand over
    after commit, and the parties no message could go to, with the reason."""

    decision: Decision | None
    notification_ids: list[uuid.UUID]
    unreachable: list[tuple[Party, str]] = field(default_factory=list)


def channel_for(party: Party) -> NotificationChannel | None:
    """One message per party and event, on the party's preferred channel; WeChat needs a bound
    account (and, at send time, a subscription grant, else it falls back to SMS)."""
    pref = party.channel_preference
    if pref is ChannelPreference.NONE:
        return None
    if party.wechat_openid and party.wechat_consent and pref in (ChannelPreference.WECHAT, ChannelPreference.BOTH):
        return NotificationChannel.WECHAT
    if party.phone:
        return NotificationChannel.SMS
    return None


def unreachable_reason(party: Party) -> str | None:
    """None when a channel can reach the party; otherwise why not (reported, never skipped silently)."""
    if party.channel_preference is ChannelPreference.NONE:
        return OPTED_OUT
    return NO_CONTACT if channel_for(party) is None else None


def unreachable_parties(parties: list[Party]) -> list[tuple[Party, str]]:
    return [(p, reason) for p in parties if (reason := unreachable_reason(p)) is not None]


def unreachable_note(unreachable: list[tuple[Party, str]]) -> str:
    """The sentence a case record entry carries when some parties could not be told."""
    return f"；{len(unreachable)} 名当事人无法通知（无联系方式或不接收通知）" if unreachable else ""


def wechat_template_id(settings: Settings, event: NotificationEvent) -> str:
    """The WeChat template the deployment registered for ``event`` (YANGGUANG_WECHAT_TEMPLATES), else ours."""
    return {**templates.DEFAULT_WECHAT_TEMPLATES, **settings.wechat_templates}.get(event.value, event.value)


def plan(settings: Settings, event: NotificationEvent, event_ref: str, agency_id: uuid.UUID, case: Case,
         parties: list[Party], ctx: Mapping[str, str], now: datetime | None = None) -> list[Notification]:
    """The outbox rows for one event, unsaved. ``relayed_at=now``: the caller hands them over right
    after commit; should it die first, the relay picks them up ``notify_requeue_after`` seconds later."""
    remedies = templates.remedies_apply(case.type)  # no appeal text on a permit
    key = templates.sms_key(event, case.type)
    sms_code = settings.aliyun_sms_templates.get(key, key)
    wx_id = wechat_template_id(settings, event)
    sms = templates.render_sms(event, sms_code, ctx, settings.aliyun_sms_sign_name or "", remedies=remedies)
    rows: list[Notification] = []
    for party in parties:
        channel = channel_for(party)
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


def sms_to_phone(settings: Settings, event: NotificationEvent, event_ref: str, agency_id: uuid.UUID, case: Case,
                 party: Party, phone: str, ctx: Mapping[str, str], now: datetime) -> Notification:
    """One SMS to a party's recorded phone whatever their channel preference: the binding messages
    (a verification code, "your messages moved to another WeChat account") must reach the phone itself."""
    key = templates.sms_key(event, None)
    sms = templates.render_sms(event, settings.aliyun_sms_templates.get(key, key), ctx,
                               settings.aliyun_sms_sign_name or "")
    return Notification(event=event, event_ref=event_ref, agency_id=agency_id, case_id=case.id, party_id=party.id,
                        idempotency_key=f"{event.value}:{event_ref}:{party.id}:sms",
                        channel=NotificationChannel.SMS, recipient=phone, template=sms.template,
                        template_version=sms.version, params={"vars": sms.params}, content=sms.content,
                        relayed_at=now)


async def write(rows: list[Notification]) -> list[uuid.UUID]:
    """Insert the rows in the caller's transaction; their ids go to the outbox after commit."""
    if rows:
        await Notification.bulk_create(rows)
    return [row.id for row in rows]


def to_phone(settings: Settings, event: NotificationEvent, event_ref: str, agency_id: uuid.UUID, phone: str,
             ctx: Mapping[str, str], now: datetime | None = None) -> Notification:
    """One SMS to a number that belongs to no party (a complainant's verified phone), unsaved. The
    readable ``content`` never holds a secret variable (a verification code): only ``params`` does,
    which the channel sends and no API returns."""
    key = event.value
    sms = templates.render_sms(event, settings.aliyun_sms_templates.get(key, key), ctx,
                               settings.aliyun_sms_sign_name or "")
    content = sms.content
    for name in templates.SECRET_VARIABLES & set(sms.params):
        content = content.replace(str(sms.params[name]), "*" * len(str(sms.params[name])))
    return Notification(event=event, event_ref=event_ref, agency_id=agency_id, case_id=None, party_id=None,
                        idempotency_key=f"{event.value}:{event_ref}:sms", channel=NotificationChannel.SMS,
                        relayed_at=now, recipient=phone, template=sms.template, template_version=sms.version,
                        params={"vars": sms.params}, content=content)


def to_openid(settings: Settings, event: NotificationEvent, event_ref: str, agency_id: uuid.UUID, openid: str,
              ctx: Mapping[str, str], now: datetime | None = None) -> Notification:
    """One WeChat subscription message to a mini-program user who is no party (a complainant signed
    in with no phone given), unsaved. No SMS twin: there is no number to fall back to."""
    wx_id = wechat_template_id(settings, event)
    wx = templates.render_wechat(event, wx_id, ctx)
    return Notification(event=event, event_ref=event_ref, agency_id=agency_id, case_id=None, party_id=None,
                        idempotency_key=f"{event.value}:{event_ref}:wechat", channel=NotificationChannel.WECHAT,
                        relayed_at=now, recipient=openid, template=wx.template, template_version=wx.version,
                        params={**wx.params, "fallback": None}, content=wx.content)


IN_FLIGHT = (NotificationStatus.PENDING, NotificationStatus.SENDING)


async def forget_secrets(event: NotificationEvent, refs: list[str]) -> set[str]:
    """Blank the secret variables (a verification code) in the finished messages of ``event`` for
    these refs. Returns the refs whose messages have all finished (or that had none): those the
    caller may forget too. A message still in flight keeps its code until a later run."""
    rows = await Notification.filter(event=event, event_ref__in=refs).only("id", "event_ref", "status", "params")
    unfinished = {r.event_ref for r in rows if r.status in IN_FLIGHT}
    for r in rows:
        values = r.params.get("vars", {})
        if r.event_ref in unfinished or not any(values.get(k) for k in templates.SECRET_VARIABLES):
            continue
        blank = {k: "" if k in templates.SECRET_VARIABLES else v for k, v in values.items()}
        await Notification.filter(id=r.id).update(params={**r.params, "vars": blank})
    return set(refs) - unfinished


SCRUB_BATCH = 500


async def scrub_codes(model: type[Model], event: NotificationEvent, ref_prefix: str, *, spent: Q,
                      requested_field: str, forget_before: datetime) -> int:
    """No phone or code lingers: the one rule behind every code sent by SMS (``model`` has ``id`` and
    ``code_hash``; its SMS carries ``event_ref`` = ``ref_prefix`` + id). A code ``spent`` (used or
    expired) is blanked, in the row and in its SMS's params, once the SMS has finished; a blanked row
    is deleted once requested before ``forget_before`` (when the per-number limits no longer count
    it). Returns rows blanked plus rows deleted."""
    done = 0
    while True:
        rows = await model.filter(spent).exclude(code_hash="").limit(SCRUB_BATCH).values_list("id", flat=True)
        refs = {f"{ref_prefix}{i}": i for i in rows}
        finished = await forget_secrets(event, list(refs))
        if finished:
            done += await model.filter(id__in=[refs[r] for r in finished]).update(code_hash="")
        if len(rows) < SCRUB_BATCH or not finished:
            break  # the rest still in flight: a later run blanks them
    done += await model.filter(**{f"{requested_field}__lte": forget_before}, code_hash="").delete()
    return done
