"""Bodies of the case, decision, notice and notification endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

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
                     "kind": "organization", "has_phone": False, "has_wechat": False, "reachable": False,
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


class DecisionCorrect(Body):
    summary: Summary
    reason: Reason


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
    notifications: int = Field(0, description="本次操作写入的通知条数")
    unreachable_parties: list[UnreachablePartyOut] = Field(
        default_factory=list, description="本次操作无法通知的当事人（无联系方式或拒收）")


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
