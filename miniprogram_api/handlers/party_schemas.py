"""Bodies of the parties' mini-program routes (sign-in, binding, their own cases)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.http.schemas import Body, stripped
from backend.models.enums import (
    CaseStatus,
    CaseType,
    ChannelPreference,
    DecisionStatus,
    DecisionVersionKind,
    NotificationChannel,
    NotificationEvent,
    NotificationStatus,
    PartyKind,
    RecordStep,
    ServiceMethod,
)

CaseNumber = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(stripped)]


class SignIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "0a3Xb1000QGz1S1h8X200f3Vv83Xb10N"}]})

    # wx.login codes are URL-safe letters and digits; anything else never reaches WeChat or the sandbox.
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,128}$")] = Field(
        description="wx.login 得到的临时登录凭证（只能使用一次；字母、数字、_ 或 -）")


class SessionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "session_token": "mps_3q2+7w…（43 个字符）", "expires_in": 604800, "sandbox": False}]})

    session_token: str = Field(description="不透明的会话令牌；之后在 /mp/v1/me/… 上以 Authorization: Bearer 发送")
    expires_in: int = Field(description="有效期（秒）")
    sandbox: bool = Field(description="true：未配置微信与短信凭证时的演示登录（沙箱），配置凭证后立即失效")


class BindCase(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"case_number": "2026-3F9A21C0", "binding_code": "7D2E9A04C1"},
        {"case_number": "2026-3F9A21C0", "sms_code": "483920"}]})

    case_number: CaseNumber = Field(description="案件编号（文书上载明）")
    binding_code: Annotated[str, StringConstraints(min_length=6, max_length=20)] | None = Field(
        None, description="立案时发给当事人的一次性绑定码")
    sms_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        None, description="POST /mp/v1/me/cases/sms-code 发到登记手机号的 6 位验证码（仅限本次登录使用）")

    @model_validator(mode="after")
    def _one_proof(self) -> BindCase:
        if (self.binding_code is None) == (self.sms_code is None):
            raise ValueError("binding_code 与 sms_code 须且只能填写一项")
        return self


class SmsCodeRequest(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"case_number": "2026-3F9A21C0",
                                                               "phone": "13800138000"}]})

    case_number: CaseNumber
    phone: Annotated[str, StringConstraints(pattern=r"^(\+?86)?1[3-9][0-9]{9}$")] = Field(
        description="办案机关登记的当事人手机号")


class SmsCodeSent(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"accepted": True, "expires_in": 300}]})

    accepted: Literal[True] = True
    expires_in: int = Field(description="验证码有效期（秒）。手机号与案件不符时同样答复，但不发送短信")


class MyCaseOut(BaseModel):
    id: uuid.UUID
    number: str
    title: str = Field(description="案件名称（其他当事人的姓名已脱敏）")
    type: CaseType
    status: CaseStatus
    agency_name: str
    bound_at: datetime


_CASE_EXAMPLE: dict[str, Any] = {"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "number": "2026-3F9A21C0",
                 "title": "某餐饮店未按规定公示许可证案", "type": "penalty", "status": "executing",
                 "agency_name": "杭州市西湖区市场监督管理局", "bound_at": "2026-12-01T10:00:00+08:00"}


class MyCasePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CASE_EXAMPLE]}]})

    items: list[MyCaseOut]


class BoundCaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case": _CASE_EXAMPLE, "method": "code", "party_notified_by_sms": True}]})

    case: MyCaseOut
    method: Literal["code", "sms"]
    party_notified_by_sms: bool = Field(description="已向登记手机号发送“通知改发至新绑定微信”的短信")


class MyPartyOut(BaseModel):
    id: uuid.UUID
    kind: PartyKind
    name: str
    has_phone: bool
    channel_preference: ChannelPreference
    wechat_consent: bool = Field(description="false：本案通知不经微信发送")


class PartyStepOut(BaseModel):
    seq: int
    step: RecordStep
    label: str
    occurred_at: datetime
    officers: list[dict[str, str]] = Field(description="执法人员姓名与执法证号")
    service_method: ServiceMethod | None
    corrects_seq: int | None = Field(description="本条更正的记录序号")


class MyVersionOut(BaseModel):
    version: int
    kind: DecisionVersionKind
    at: datetime
    public_text: str = Field(description="公示文本（已脱敏）")
    reason: str


class MyDecisionOut(BaseModel):
    id: uuid.UUID
    document_no: str
    type: CaseType
    decided_at: date
    status: DecisionStatus
    versions: list[MyVersionOut]


class MyNoticeOut(BaseModel):
    id: uuid.UUID
    event: NotificationEvent
    channel: NotificationChannel
    content: str
    status: NotificationStatus = Field(description="投递状态：pending/sending/sent/delivered/failed/superseded")
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class DeadlineOut(BaseModel):
    kind: Literal["statement", "hearing_request", "reconsideration", "litigation"]
    label: str
    decision_id: uuid.UUID | None
    starts_on: date = Field(description="期间起算日（不计入）")
    due_on: date = Field(description="期限最后一日")
    unit: Literal["working_days", "days", "months"]
    length: int
    days_left: int = Field(description="距最后一日的天数；负数表示已过")
    law: str


class MyCaseDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case": _CASE_EXAMPLE,
        "parties": [{"id": "9b2e…", "kind": "organization", "name": "某餐饮店", "has_phone": True,
                     "channel_preference": "both", "wechat_consent": True}],
        "steps": [{"seq": 1, "step": "start", "label": "受理/立案", "occurred_at": "2026-11-20T09:00:00+08:00",
                   "officers": [], "service_method": None, "corrects_seq": None}],
        "decisions": [{"id": "1c6a…", "document_no": "西市监罚〔2026〕12号", "type": "penalty",
                       "decided_at": "2026-11-30", "status": "published", "versions": [{
                           "version": 1, "kind": "publish", "at": "2026-12-01T09:00:00+08:00",
                           "public_text": "对张*作出警告。", "reason": ""}]}],
        "notices": [{"id": "5d1f…", "event": "decision_published", "channel": "sms",
                     "content": "【阳光执法】您的执法决定（西市监罚〔2026〕12号）已公示……", "status": "delivered",
                     "created_at": "2026-12-01T09:00:00+08:00", "sent_at": "2026-12-01T09:00:05+08:00",
                     "delivered_at": "2026-12-01T09:00:09+08:00"}],
        "deadlines": [{"kind": "reconsideration", "label": "申请行政复议", "decision_id": "1c6a…",
                       "starts_on": "2026-11-30", "due_on": "2027-01-29", "unit": "days", "length": 60,
                       "days_left": 59, "law": "《中华人民共和国行政复议法》第二十条"}]}]})

    case: MyCaseOut
    parties: list[MyPartyOut] = Field(description="本人在本案中的当事人身份（通常一个）")
    steps: list[PartyStepOut] = Field(description="与当事人有关的办案步骤（不含内部工作与其他当事人的信息）")
    decisions: list[MyDecisionOut]
    notices: list[MyNoticeOut] = Field(description="发给本人的通知及其投递状态")
    deadlines: list[DeadlineOut]


class Preferences(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"channel_preference": "sms",
                                                               "wechat_consent": False}]})

    channel_preference: ChannelPreference | None = Field(None, description="sms/wechat/both/none")
    wechat_consent: bool | None = Field(None, description="是否同意本案通知经微信发送")


class PreferencesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"parties": [{
        "id": "9b2e…", "kind": "person", "name": "张三", "has_phone": True, "channel_preference": "sms",
        "wechat_consent": False}]}]})

    parties: list[MyPartyOut]
