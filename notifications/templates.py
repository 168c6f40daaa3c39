"""Message templates per event and channel, versioned, with the providers' length rules.

A template renders at the moment its event is recorded; the outbox row keeps the provider's
template code, its variables and the full text, so a retry next week sends the same words.

Rules checked here: a WeChat ``thing`` value is at most 20 characters; an SMS is billed in segments
of 70 characters (67 once it is longer than one segment), and a template allows at most
``max_segments``. Long free text (a correction, a reason) is shortened to fit; in an SMS never the
document number or the link. A WeChat ``thing`` field cannot hold more than 20 characters, so a longer
document number is shortened there (the page the message opens shows it whole); a complaint's
tracking number is never shortened.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.errors import ValidationFailed
from backend.models.enums import CaseType, NotificationEvent

E = NotificationEvent
WECHAT_THING_MAX = 20
SMS_SEGMENT = 70
SMS_LONG_SEGMENT = 67
SMS_VARIABLE_MAX = 35  # Aliyun's limit for one template variable
REMEDIES = "如不服，可自收到之日起60日内申请行政复议，或6个月内提起行政诉讼。"
REMEDIES_SHORT = "60日内可复议/6个月内可诉讼"
PLAIN_SHORT = "点击查看公示全文"
# Appeal text goes with adverse decisions only: a permit, an inspection result or another decision
# never carries the penalty-appeal wording (its messages use the ``_plain`` templates).
REMEDY_TYPES = frozenset({CaseType.PENALTY, CaseType.COERCION, CaseType.COLLECTION})
PLAIN_SUFFIX = "_plain"


def remedies_apply(case_type: CaseType) -> bool:
    return case_type in REMEDY_TYPES


def remedy_notice(case_type: CaseType) -> str | None:
    """The sentence on the public decision page, or None when no appeal text belongs there."""
    if case_type is CaseType.PENALTY:
        return "当事人对行政处罚决定不服的，可以自收到决定书之日起60日内申请行政复议，或者6个月内提起行政诉讼。"
    if case_type in REMEDY_TYPES:
        return "当事人对该决定不服的，可以自收到决定书之日起60日内申请行政复议，或者6个月内提起行政诉讼。"
    return None


def sms_key(event: NotificationEvent, case_type: CaseType | None) -> str:
    """The settings key of the Aliyun template for this event and decision type."""
    if case_type is not None and not remedies_apply(case_type) and event in SMS_PLAIN:
        return event.value + PLAIN_SUFFIX
    return event.value

DEFAULT_WECHAT_TEMPLATES: dict[str, str] = {
    E.DECISION_PUBLISHED.value: "YG_WX_DECISION_PUBLISHED",
    E.DECISION_CORRECTED.value: "YG_WX_DECISION_CORRECTED",
    E.DECISION_WITHDRAWN.value: "YG_WX_DECISION_WITHDRAWN",
    E.AGENCY_NOTICE.value: "YG_WX_AGENCY_NOTICE",
    E.COMPLAINT_UPDATE.value: "YG_WX_COMPLAINT_UPDATE",
}


@dataclass(frozen=True)
class SmsTemplate:
    event: NotificationEvent
    version: int
    text: str  # the wording registered with Aliyun under the event's template code
    shortened: tuple[str, ...] = ()  # free-text variables that may be cut to fit
    max_segments: int = 3


@dataclass(frozen=True)
class WechatTemplate:
    event: NotificationEvent
    version: int
    title: str
    page: str  # mini-program page opened from the message


@dataclass(frozen=True)
class Rendered:
    template: str  # provider template code or id
    version: int
    params: dict[str, Any]  # Aliyun TemplateParam, or WeChat {"data": …, "page": …}
    content: str  # what the party reads, for the agency and the sandbox


SMS: dict[NotificationEvent, SmsTemplate] = {
    E.DECISION_PUBLISHED: SmsTemplate(
        E.DECISION_PUBLISHED, 1, "您的执法决定（${doc}）已公示，全文见 ${url} 。" + REMEDIES),
    E.DECISION_CORRECTED: SmsTemplate(
        E.DECISION_CORRECTED, 1, "您的执法决定（${doc}）公示内容已更正：${change}。详见 ${url} 。" + REMEDIES,
        shortened=("change",)),
    E.DECISION_WITHDRAWN: SmsTemplate(
        E.DECISION_WITHDRAWN, 1, "您的执法决定（${doc}）已撤回公示，原因：${reason}。详见 ${url} 。",
        shortened=("reason",)),
    E.AGENCY_NOTICE: SmsTemplate(E.AGENCY_NOTICE, 1, "${agency}就案件${case}通知您：${text}"),
    # Complaints (R-X1, R-X2): to a complainant's verified phone only; no name, no text of the complaint.
    E.COMPLAINT_PHONE_CODE: SmsTemplate(
        E.COMPLAINT_PHONE_CODE, 1,
        "您的验证码为${code}，10分钟内有效，仅用于提交投诉举报。如非本人操作，请忽略本短信。",
        max_segments=1),
    E.COMPLAINT_UPDATE: SmsTemplate(
        E.COMPLAINT_UPDATE, 1, "您的投诉举报（受理编号${no}）${step}。可凭受理编号和查询码查看进度。",
        shortened=("step",), max_segments=2),
    E.BINDING_SMS_CODE: SmsTemplate(
        E.BINDING_SMS_CODE, 1,
        "您正在小程序中绑定案件${case}，验证码${code}，${minutes}分钟内有效。如非本人操作，请勿告知他人。"),
    E.BINDING_CHANGED: SmsTemplate(
        E.BINDING_CHANGED, 1,
        "您在案件${case}中的通知已改发至新绑定的微信账号（${date}）。如非本人操作，请联系${agency}。"),
    E.BINDING_ENDED: SmsTemplate(
        E.BINDING_ENDED, 1,
        "您在案件${case}中绑定的微信账号已解除绑定（${date}），今后的通知以短信发至本号码。如非本人操作，请联系${agency}。"),
}
# Variables never written into a row's readable content (the agency's delivery log shows content).
SECRET_VARIABLES = frozenset({"code"})

# The same messages without appeal text, registered under their own template codes.
SMS_PLAIN: dict[NotificationEvent, SmsTemplate] = {
    E.DECISION_PUBLISHED: SmsTemplate(E.DECISION_PUBLISHED, 1, "您的执法决定（${doc}）已公示，全文见 ${url} 。"),
    E.DECISION_CORRECTED: SmsTemplate(
        E.DECISION_CORRECTED, 1, "您的执法决定（${doc}）公示内容已更正：${change}。详见 ${url} 。",
        shortened=("change",)),
}

WECHAT: dict[NotificationEvent, WechatTemplate] = {
    E.DECISION_PUBLISHED: WechatTemplate(E.DECISION_PUBLISHED, 1, "执法决定已公示", "pages/decision/detail"),
    E.DECISION_CORRECTED: WechatTemplate(E.DECISION_CORRECTED, 1, "执法决定已更正", "pages/decision/detail"),
    E.DECISION_WITHDRAWN: WechatTemplate(E.DECISION_WITHDRAWN, 1, "执法决定已撤回", "pages/decision/detail"),
    E.AGENCY_NOTICE: WechatTemplate(E.AGENCY_NOTICE, 1, "执法机关通知", "pages/case/detail"),
    # To a complainant signed in to the mini-program who gave no phone (their own complaints).
    E.COMPLAINT_UPDATE: WechatTemplate(E.COMPLAINT_UPDATE, 1, "投诉举报进度", "pages/complaint/detail"),
}


def sms_segments(text: str) -> int:
    n = len(text)
    return 1 if n <= SMS_SEGMENT else math.ceil(n / SMS_LONG_SEGMENT)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fill(text: str, params: Mapping[str, str]) -> str:
    for key, value in params.items():
        text = text.replace("${" + key + "}", value)
    return text


def render_sms(event: NotificationEvent, template_code: str, ctx: Mapping[str, str],
               sign_name: str = "", *, remedies: bool = True) -> Rendered:
    tpl = SMS[event] if remedies else SMS_PLAIN.get(event, SMS[event])
    params = {k: v for k, v in ctx.items() if "${" + k + "}" in tpl.text}
    for key in tpl.shortened:
        params[key] = shorten(params.get(key, ""), SMS_VARIABLE_MAX)
    sign = f"【{sign_name}】" if sign_name else ""
    content = sign + _fill(tpl.text, params)
    # Free text shrinks until the message fits its segments; the link and document number stay whole.
    for key in tpl.shortened:
        while sms_segments(content) > tpl.max_segments and len(params[key]) > 4:
            params[key] = shorten(params[key], len(params[key]) - 4)
            content = sign + _fill(tpl.text, params)
    if sms_segments(content) > tpl.max_segments:
        raise ValidationFailed(f"短信内容过长（最多 {tpl.max_segments} 条，每条 {SMS_SEGMENT} 字）",
                               code="sms_too_long")
    # The link and an agency's own notice text are registered as long variables.
    oversized = [k for k, v in params.items() if k not in ("url", "text") and len(v) > SMS_VARIABLE_MAX]
    if oversized:
        raise ValidationFailed(f"短信变量超过 {SMS_VARIABLE_MAX} 字", code="sms_variable_too_long")
    # What the row shows (the agency's log, the party's view): the words sent, a secret code hidden.
    readable = sign + _fill(tpl.text, {**params, **{k: "******" for k in SECRET_VARIABLES if k in params}})
    return Rendered(template_code, tpl.version, params, readable)


def render_wechat(event: NotificationEvent, template_id: str, ctx: Mapping[str, str], *,
                  remedies: bool = True) -> Rendered:
    tpl = WECHAT[event]
    if event is E.AGENCY_NOTICE:
        detail, subject = ctx.get("text", ""), f"案件 {ctx.get('case', '')}"
        query = f"?id={ctx.get('case_id', '')}"
        first = subject
    elif event is E.COMPLAINT_UPDATE:
        no = ctx.get("no", "")
        detail, subject, query = ctx.get("step", ""), f"受理编号 {no}", f"?no={no}"
        # The keyword's own name says 受理编号; its value is the number alone, whole (the label in
        # front of a 17-character number went over 20 and cut it). The number must fit, never be cut.
        if len(no) > WECHAT_THING_MAX:
            raise ValueError(f"tracking number longer than {WECHAT_THING_MAX} characters")
        first = no
    else:
        detail = {E.DECISION_PUBLISHED: REMEDIES_SHORT if remedies else PLAIN_SHORT,
                  E.DECISION_CORRECTED: ctx.get("change", ""),
                  E.DECISION_WITHDRAWN: ctx.get("reason", "")}[event]
        subject, query = ctx.get("doc", ""), f"?id={ctx.get('decision_id', '')}"
        first = subject
    data = {
        "thing1": shorten(first, WECHAT_THING_MAX),
        "thing2": shorten(tpl.title, WECHAT_THING_MAX),
        "thing3": shorten(detail, WECHAT_THING_MAX),
        "time4": ctx.get("date", ""),
    }
    assert all(len(v) <= WECHAT_THING_MAX for k, v in data.items() if k.startswith("thing"))
    content = f"{tpl.title}：{subject}。{detail}"
    return Rendered(template_id, tpl.version, {"data": {k: {"value": v} for k, v in data.items()},
                                               "page": tpl.page + query}, content)


def check_notice_text(text: str, ctx: Mapping[str, str]) -> None:
    """Refuse an agency notice up front when it cannot fit three SMS segments."""
    render_sms(E.AGENCY_NOTICE, "check", {**ctx, "text": text})
