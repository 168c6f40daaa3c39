"""Bodies of the full-process record endpoints: case officers, steps, the full record, accesses."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.http.schemas import Body, EventTime, stripped, stripped_nonempty
from backend.models.enums import (
    CaseOfficerRole,
    CaseStatus,
    CaseType,
    DecisionStatus,
    DecisionVersionKind,
    EvidenceKind,
    NotificationChannel,
    NotificationEvent,
    NotificationStatus,
    OfficerKind,
    RecordAccessKind,
    RecordStep,
    ReviewLevel,
    ReviewStatus,
    ServiceMethod,
    SignatureState,
)
from backend.services.records.steps import AGENCY_STEPS

# The steps an agency records; publication and notice entries are written by the service itself.
AgencyStep = StrEnum("AgencyStep", {s.name: s.value for s in AGENCY_STEPS})  # type: ignore[misc]

Place = Annotated[str, StringConstraints(max_length=200), AfterValidator(stripped)]
RecordText = Annotated[str, StringConstraints(min_length=1, max_length=20_000), AfterValidator(stripped_nonempty)]
Note = Annotated[str, StringConstraints(max_length=500), AfterValidator(stripped)]


class CaseOfficersAssign(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "lead_officer_id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10",
        "assistant_officer_ids": ["7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"]}]})

    lead_officer_id: uuid.UUID | None = Field(None, description="主办人（须为执法人员）；原主办人改为协办")
    assistant_officer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20, description="协办人员")


class CaseOfficerOut(BaseModel):
    officer_id: uuid.UUID
    name: str
    kind: OfficerKind
    certificate_no: str | None
    role: CaseOfficerRole = Field(description="lead 主办人；assistant 协办")


class CaseTeamOut(BaseModel):
    case_id: uuid.UUID
    officers: list[CaseOfficerOut]


class RecordCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "step": "on_site", "occurred_at": "2026-11-20T10:15:00+08:00", "place": "杭州市西湖区某路1号",
        "officer_ids": ["6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10", "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"],
        "credential_shown": True, "text": "现场检查发现未在显著位置公示食品经营许可证。",
        "party_signature": "refused", "refusal_note": "当事人拒绝在笔录上签名，已录像。",
        "evidence_ids": ["3c9e7b1a-2d4f-4a6b-9c8d-0e1f2a3b4c5d"]}]})

    step: AgencyStep = Field(description="环节（publication、notice 由系统生成，不可手工添加）")
    occurred_at: EventTime = Field(description="发生时间（须带时区）")
    place: Place = ""
    officer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20,
                                         description="参与的执法人员（须先指派到本案）")
    credential_shown: bool = Field(description="是否出示执法证件")
    text: RecordText
    party_signature: SignatureState = Field(description="signed 当事人已签名；refused 拒绝签名（须填 refusal_note）；"
                                                        "not_required 无需签名")
    refusal_note: Note = ""
    evidence_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    service_method: ServiceMethod | None = Field(None, description="送达方式，仅 step=service 时填写")
    corrects: int | None = Field(None, ge=1, le=2**62, description="本记录更正的记录 id（原记录不变）")


class RecordCreated(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 42, "seq": 3, "leaf_index": 1017,
        "leaf_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]})

    id: int
    seq: int
    leaf_index: int = Field(description="在透明日志中的叶序号（可用 /api/v1/log/proof/inclusion 取证明）")
    leaf_hash: str = Field(description="叶哈希 SHA-256(0x00 ‖ RFC 8785 规范化条目)，十六进制")


class RecordOfficerOut(BaseModel):
    officer_id: str
    name: str
    certificate_no: str | None
    credential_valid: bool = Field(description="该时间是否持有有效执法证件")
    credential_shown: bool


class RecordOut(BaseModel):
    id: int
    seq: int
    step: RecordStep
    occurred_at: datetime
    place: str
    officers: list[RecordOfficerOut]
    text: str
    party_signature: SignatureState
    refusal_note: str
    service_method: ServiceMethod | None
    evidence_ids: list[str]
    corrects: int | None
    corrected_by: list[int]
    av_recommended_missing: bool = Field(description="建议有音像记录但未附（如现场检查、听证、留置送达）")
    actor_name: str
    actor_role: str
    recorded_at: datetime
    leaf_index: int | None


class RecordList(BaseModel):
    case_id: uuid.UUID
    items: list[RecordOut]


class EvidenceOut(BaseModel):
    id: uuid.UUID
    number: str
    kind: EvidenceKind
    captured_at: datetime
    place: str
    collector_officer_id: uuid.UUID | None
    proves: str
    content_type: str
    sha256: str
    size: int
    actor_name: str
    leaf_index: int | None


class DecisionVersionOut(BaseModel):
    version: int
    kind: DecisionVersionKind
    public_text: str
    reason: str
    actor_name: str
    created_at: datetime
    leaf_index: int | None


class FullDecisionOut(BaseModel):
    id: uuid.UUID
    document_no: str
    status: DecisionStatus
    summary: str
    versions: list[DecisionVersionOut]


class ReviewEventOut(BaseModel):
    kind: str = Field(description="submit 提交；opinion 审核意见；dispute 异议；head_decision 负责人集体讨论决定")
    at: datetime
    actor_name: str
    actor_role: str
    leaf_index: int | None = Field(description="该事件在透明日志中的叶序号")


class ReviewOut(BaseModel):
    id: uuid.UUID
    round: int
    level: ReviewLevel
    status: ReviewStatus
    submitted_at: datetime
    reviewed_at: datetime | None
    leaf_index: int | None = Field(None, description="提交审核这一事件的叶序号（其余事件见 events）")
    events: list[ReviewEventOut] = Field(default_factory=list, description="提交、审核意见、异议、负责人决定，按时间")


class FullNotificationOut(BaseModel):
    id: uuid.UUID
    event: NotificationEvent
    channel: NotificationChannel
    status: NotificationStatus
    recipient: str = Field(description="已脱敏")
    created_at: datetime
    leaf_index: None = Field(None, description="通知不进入透明日志")


class FullPartyOut(BaseModel):
    name: str
    kind: str


class FullRecordOut(BaseModel):
    case_id: uuid.UUID
    agency_id: uuid.UUID
    number: str
    title: str
    type: CaseType
    status: CaseStatus
    parties: list[FullPartyOut]
    officers: list[CaseOfficerOut]
    steps: list[RecordOut]
    evidence: list[EvidenceOut]
    decisions: list[FullDecisionOut]
    reviews: list[ReviewOut]
    notifications: list[FullNotificationOut]
    retrieved_at: datetime


class AccessQuery(Body):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)
    case_id: uuid.UUID | None = None


class AccessOut(BaseModel):
    id: int
    case_id: uuid.UUID
    kind: RecordAccessKind = Field(description="full_record 调阅全过程记录；evidence 查看证据文件")
    evidence_id: uuid.UUID | None
    actor_name: str
    actor_role: str
    accessed_at: datetime


class AccessPage(BaseModel):
    items: list[AccessOut]
    page: int
    page_size: int
    total: int


