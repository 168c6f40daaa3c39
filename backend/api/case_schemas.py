"""Bodies of the case, decision, notice and notification endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.api.schemas import Money, Phone
from backend.http.schemas import Body, Out, QueryDate, stripped_nonempty
from backend.models.enums import (
    CaseStatus,
    CaseType,
    DecisionStatus,
    Measure,
    NotificationChannel,
    NotificationEvent,
    NotificationStatus,
    PartyKind,
    RevocationReason,
)
from backend.services.masking import mask_recipient

Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(stripped_nonempty)]
PartyName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(stripped_nonempty)]
DocumentNo = Annotated[str, StringConstraints(min_length=1, max_length=35), AfterValidator(stripped_nonempty)]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(stripped_nonempty)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(stripped_nonempty)]
NoticeText = Annotated[str, StringConstraints(min_length=1, max_length=150), AfterValidator(stripped_nonempty)]


class PartyIn(Body):
    name: PartyName
    kind: PartyKind
    phone: Phone | None = None
    # Resident ID number or an organisation's unified social credit code: 18 characters.
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")] | None = None
    is_minor: bool = Field(False, description="未成年人：其任何信息都不公示（姓名显示为“未成年人”）；仅限自然人")

    @model_validator(mode="after")
    def _minor_is_a_person(self) -> PartyIn:
        if self.is_minor and self.kind is not PartyKind.PERSON:
            raise ValueError("只有自然人可以标记为未成年人")
        return self


class CaseCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "某餐饮店未按规定公示许可证案", "type": "penalty",
        "parties": [{"name": "杭州某某餐饮有限公司", "kind": "organization", "phone": "13800000000"}]}]})

    title: Title
    type: CaseType
    parties: list[PartyIn] = Field(min_length=1, max_length=50)


class PartyOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: PartyKind
    is_minor: bool = Field(False, description="未成年人（不公示任何信息）")
    has_phone: bool
    has_wechat: bool
    reachable: bool = Field(description="能否收到通知（有手机号或已绑定微信，且未拒收）")
    unreachable_reason: Literal["no_contact", "opted_out"] | None = Field(
        None, description="无法通知的原因：no_contact 无手机号且未绑定微信；opted_out 当事人选择不接收")
    binding_code: str | None = Field(None, description="当事人绑定码，仅在立案时返回一次")


class UnreachablePartyOut(BaseModel):
    party_id: uuid.UUID
    name: str
    reason: Literal["no_contact", "opted_out"]
    reason_text: str


class CaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "number": "2026-3F2A91C0",
        "title": "某餐饮店未按规定公示许可证案",
        "type": "penalty", "status": "decided", "created_at": "2026-11-20T09:30:00+08:00",
        "parties": [{"id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "name": "杭州某某餐饮有限公司",
                     "kind": "organization", "is_minor": False, "has_phone": False, "has_wechat": False,
                     "reachable": False,
                     "unreachable_reason": "no_contact", "binding_code": None}]}]})

    id: uuid.UUID
    number: str
    title: str
    type: CaseType
    status: CaseStatus = Field(description="open 已立案 → decided 已登记决定 → executing 决定已公示、执行中"
                                           "（另有 investigating、in_review、closed）")
    created_at: datetime
    parties: list[PartyOut]


class CaseQuery(Body):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)
    status: CaseStatus | None = None
    number: Annotated[str, StringConstraints(min_length=1, max_length=64),
                      AfterValidator(stripped_nonempty)] | None = Field(
        None, description="案件编号（包含即匹配）")
    created_from: QueryDate | None = Field(None, description="立案日期起（含，北京时间，YYYY-MM-DD）")
    created_to: QueryDate | None = Field(None, description="立案日期止（含，北京时间，YYYY-MM-DD）")
    agency_id: uuid.UUID | None = Field(None, description="仅监督机构可用")


class CasePage(BaseModel):
    items: list[CaseOut]
    page: int
    page_size: int
    total: int


class DecisionCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "document_no": "杭西市监罚〔2026〕12号", "summary": "责令改正，给予警告。", "decided_at": "2026-11-20",
        "measures": ["warning"]}]})

    document_no: DocumentNo
    summary: Summary
    decided_at: date
    amount: Money | None = Field(None, description="罚没金额；省略则取案件的金额。重大案件须与审核通过的一致")
    measures: Annotated[list[Measure], Field(max_length=len(Measure))] | None = Field(
        None, description="处理措施；省略则取案件的措施。重大案件须与审核通过的一致")
    in_government_name: bool = Field(False, description="以区政府名义作出（还须区政府法制机构审核）")


PreviewHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
PREVIEW_HASH_DOC = ("预览返回的 preview_hash：证明提交人看过将要公示的内容；缺少时 422 preview_hash_required，"
                    "内容自预览后有变化时 409 preview_stale")


class DecisionPublish(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "preview_hash": "3f5a0c9e7b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a"}]})

    preview_hash: PreviewHash | None = Field(None, description=PREVIEW_HASH_DOC)


class DecisionCorrect(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "summary": "当事人王小明无证经营，罚款一千元。", "reason": "罚款金额笔误",
        "preview_hash": "3f5a0c9e7b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a"}]})

    summary: Summary
    reason: Reason
    preview_hash: PreviewHash | None = Field(
        None, description=PREVIEW_HASH_DOC + "（须为同一 summary 与 reason 的更正预览）")


class CorrectionPreview(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "summary": "当事人王小明无证经营，罚款一千元。", "reason": "罚款金额笔误"}]})

    summary: Summary
    reason: Reason


class MaskedOut(BaseModel):
    field: Literal["summary", "reason"] = Field(description="所在字段：summary 决定内容；reason 更正理由")
    kind: Literal["person_name", "minor", "id_number", "phone", "bank_card", "long_number", "email", "address"] = (
        Field(description="被隐去的内容类别"))
    rule: Literal["party", "cue", "recurrence", "given_name", "pattern"] = Field(
        description="发现方式：party 案件当事人；cue 上下文提示词；recurrence 已识别姓名再次出现；"
                    "given_name 单独使用的名；"
                    "pattern 号码、邮箱等格式")
    start: int = Field(description="在原文中的起始位置（字符，含）")
    end: int = Field(description="在原文中的结束位置（字符，不含）")
    original: str = Field(description="原文（仅本机构可见，不写入日志）")
    replacement: str = Field(description="公示时替换成的文字")


class PreviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "decision_id": "7a1f3c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "document_no": "杭西市监罚〔2026〕12号",
        "party": "王*", "public_text": "当事人王*（电话[电话已隐去]）无证经营，罚款二千元。", "public_reason": "",
        "masked": [{"field": "summary", "kind": "person_name", "rule": "party", "start": 3, "end": 6,
                    "original": "王小明", "replacement": "王*"},
                   {"field": "summary", "kind": "phone", "rule": "pattern", "start": 9, "end": 20,
                    "original": "13900001111", "replacement": "[电话已隐去]"}],
        "preview_hash": "3f5a0c9e7b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a"}]})

    decision_id: uuid.UUID
    document_no: str
    party: str = Field(description="公示的当事人名称（自然人为姓+*，未成年人为“未成年人”，单位为全称）")
    public_text: str = Field(description="将要公示的决定内容，与公示后一字不差")
    public_reason: str = Field(description="将要公示的更正理由（公示预览时为空）")
    masked: list[MaskedOut] = Field(description="被隐去的每一处")
    preview_hash: str = Field(description="提交公示或更正时须原样带回")


class DecisionWithdraw(Body):
    reason: Reason


class DecisionOut(Out):
    id: uuid.UUID
    case_id: uuid.UUID
    document_no: str
    summary: str
    decided_at: date
    amount: Decimal | None = None
    measures: list[Measure] = Field(default_factory=list)
    status: DecisionStatus
    current_version: int
    published_at: datetime | None
    publish_due_on: date | None = Field(
        None, description="应公示的最后一天：决定日期后7个工作日（行政许可、行政处罚）或20个工作日（其他）")
    publish_due_on_provisional: bool = Field(
        False, description="true：计算时该年国务院节假日安排尚未载入（暂按周末和固定日期节日），载入后自动重算")
    withdraw_due_on: date | None = Field(None, description="登记撤销后应撤回公示的最后一天（3个工作日）")
    withdraw_due_on_provisional: bool = False
    publication_ends_on: date | None = Field(None, description="公示期的最后一天（按决定类型的最长公示期）")
    notifications: int = Field(0, description="本次操作写入的通知条数")
    unreachable_parties: list[UnreachablePartyOut] = Field(
        default_factory=list, description="本次操作无法通知的当事人（无联系方式或拒收）")


class RevocationIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "revoked", "date": "2026-12-01", "basis": "杭州市西湖区人民政府行政复议决定书西政复〔2026〕31号"}]})

    reason: RevocationReason = Field(
        description="revoked 被撤销；confirmed_illegal 被确认违法；confirmed_invalid 被确认无效；"
                    "ordered_remade 被责令重新作出")
    date: dt.date = Field(description="撤销（确认违法、责令重作）文书的日期，3个工作日的撤回期限由此起算；不得晚于今天")
    basis: Annotated[str, StringConstraints(max_length=500)] = Field(
        "", description="依据，如复议决定书或判决书文号（仅内部可见）")


class RevocationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "2b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e", "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
        "reason": "revoked", "date": "2026-12-01", "basis": "西政复〔2026〕31号", "recorded_by": "张执法",
        "recorded_at": "2026-12-02T09:30:00+08:00", "withdraw_due_on": "2026-12-04",
        "withdraw_due_on_provisional": False}]})

    id: uuid.UUID
    decision_id: uuid.UUID
    reason: RevocationReason
    date: dt.date
    basis: str
    recorded_by: str
    recorded_at: datetime
    withdraw_due_on: dt.date
    withdraw_due_on_provisional: bool


class CreditRepairIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "当事人已履行行政处罚决定并作出信用承诺，经信用修复审核同意提前停止公示"}]})

    reason: Reason


class NoticeCreate(Body):
    text: NoticeText


class NoticeOut(BaseModel):
    case_id: uuid.UUID
    notifications: int
    unreachable_parties: list[UnreachablePartyOut] = Field(default_factory=list)


class NotificationQuery(Body):
    case_id: uuid.UUID
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


class ReceiptOut(Out):
    provider_status: str
    error_code: str
    received_at: datetime


class NotificationOut(Out):
    id: uuid.UUID
    case_id: uuid.UUID | None
    party_id: uuid.UUID | None
    event: NotificationEvent
    channel: NotificationChannel
    recipient: str = Field(description="脱敏后的手机号或微信用户")
    template: str
    template_version: int
    content: str
    status: NotificationStatus
    attempts: int
    provider_id: str | None
    provider_status: str
    last_error: str
    fallback_of_id: uuid.UUID | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    receipts: list[ReceiptOut] = Field(default_factory=list)


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    page: int
    page_size: int
    total: int
    unreachable_parties: list[UnreachablePartyOut] = Field(
        default_factory=list, description="该案件中收不到任何通知的当事人")


def notification_out(n: Any, receipts: list[Any]) -> NotificationOut:
    fields = {name: getattr(n, name) for name in NotificationOut.model_fields if name != "receipts"}
    fields["recipient"] = mask_recipient(n.recipient)
    return NotificationOut(**fields, receipts=[ReceiptOut.model_validate(r) for r in receipts])


class BindingCodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "party_id": "9b2e3c1a-6f0e-4c55-9a59-0c3f1d2b7e11",
        "binding_code": "7D2E9A04C1", "ended_binding": True}]})

    case_id: uuid.UUID
    party_id: uuid.UUID
    binding_code: str = Field(description="新的一次性绑定码，仅此一次返回；旧绑定码随即失效")
    ended_binding: bool = Field(description="当事人原有的微信绑定已解除，此后通知改发短信，直至重新绑定")
