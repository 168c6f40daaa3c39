"""Bodies of the case, decision, notice and notification endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from backend.api.schemas import Phone
from backend.http.schemas import Body, Out, stripped_nonempty
from backend.models.enums import (
    CaseStatus,
    CaseType,
    DecisionStatus,
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
    title: Title
    type: CaseType
    parties: list[PartyIn] = Field(min_length=1, max_length=50)


class PartyOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: PartyKind
    has_phone: bool
    has_wechat: bool
    binding_code: str | None = Field(None, description="当事人绑定码，仅在立案时返回一次")


class CaseOut(BaseModel):
    id: uuid.UUID
    number: str
    title: str
    type: CaseType
    status: CaseStatus
    created_at: datetime
    parties: list[PartyOut]


class DecisionCreate(Body):
    document_no: DocumentNo
    summary: Summary
    decided_at: date


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
    status: DecisionStatus
    current_version: int
    published_at: datetime | None
    notifications: int = Field(0, description="本次操作写入的通知条数")


class NoticeCreate(Body):
    text: NoticeText


class NoticeOut(BaseModel):
    case_id: uuid.UUID
    notifications: int


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


def notification_out(n: Any, receipts: list[Any]) -> NotificationOut:
    fields = {name: getattr(n, name) for name in NotificationOut.model_fields if name != "receipts"}
    fields["recipient"] = mask_recipient(n.recipient)
    return NotificationOut(**fields, receipts=[ReceiptOut.model_validate(r) for r in receipts])
