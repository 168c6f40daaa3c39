"""Bodies of the legal-review endpoints: the catalogue, case facts and flag, reviews, supervision."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from backend.api.complaint_schemas import ComplaintOverdueOut
from backend.api.register_schemas import RegisterOverdueOut
from backend.api.schemas import Money
from backend.api.statistics_schemas import StatisticsOverdueOut
from backend.api.supervision_schemas import RectificationOverdueOut
from backend.http.schemas import Body, PageQuery, stripped, stripped_nonempty
from backend.models.enums import (
    CaseStatus,
    CaseType,
    Measure,
    PartyKind,
    ReviewLevel,
    ReviewOutcome,
    ReviewStatus,
    RevocationReason,
)

Text = Annotated[str, StringConstraints(min_length=1, max_length=5000), AfterValidator(stripped_nonempty)]
OptionalText = Annotated[str, StringConstraints(max_length=5000), AfterValidator(stripped)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(stripped_nonempty)]
Note = Annotated[str, StringConstraints(max_length=1000), AfterValidator(stripped)]
BodyName = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(stripped_nonempty)]
Unit = Annotated[str, StringConstraints(max_length=100), AfterValidator(stripped)]
EvidenceItem = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(stripped_nonempty)]
PointName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Measures = Annotated[list[Measure], Field(max_length=len(Measure), description="处理措施")]
Colour = Literal["green", "yellow", "red"]
# -- catalogue ---------------------------------------------------------------------------------------

class AmountThreshold(Body):
    case_type: CaseType
    measure: Measure | None = Field(None, description="只计该措施的金额（如 fine 罚款、confiscation 没收）；省略则不限")
    party_kind: PartyKind | None = Field(None, description="只适用于该类当事人（person 自然人、organization 组织）")
    min_amount: Money


class Criteria(Body):
    case_types: list[CaseType] = Field(default_factory=list, max_length=len(CaseType),
                                       description="该类型的案件一律为重大")
    amount_thresholds: list[AmountThreshold] = Field(default_factory=list, max_length=50,
                                                     description="金额达到标准即为重大（按类型、措施、当事人类别）")
    licence_revocation: bool = Field(False, description="拟吊销许可证件")
    business_suspension: bool = Field(False, description="拟责令停产停业")
    hearing_held: bool = Field(False, description="经过听证程序")
    public_interest: bool = Field(False, description="涉及重大公共利益或重大社会影响")
    complex_case: bool = Field(False, description="案情疑难复杂、涉及多个法律关系")
    multi_party: bool = Field(False, description="涉及多方当事人")
    major_rights: bool = Field(False, description="直接关系当事人或第三人重大权益")


_CRITERIA_EXAMPLE: dict[str, Any] = {
    "case_types": ["coercion"],
    "amount_thresholds": [
        {"case_type": "penalty", "measure": "fine", "party_kind": "person", "min_amount": "10000.00"},
        {"case_type": "penalty", "measure": "fine", "party_kind": "organization", "min_amount": "100000.00"},
        {"case_type": "penalty", "measure": "confiscation", "party_kind": "person", "min_amount": "10000.00"},
        {"case_type": "penalty", "measure": "confiscation", "party_kind": "organization", "min_amount": "100000.00"}],
    "licence_revocation": True, "business_suspension": True, "hearing_held": True, "public_interest": True,
    "complex_case": True, "multi_party": False, "major_rights": True}


class CatalogueUpdate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "effective_from": "2026-12-01", "criteria": _CRITERIA_EXAMPLE, "note": "依据巩义市重大执法决定目录修订"}]})

    effective_from: date = Field(description="生效日期（不早于今天）；此前仍适用上一版本")
    criteria: Criteria
    note: Note = ""


class CatalogueVersionOut(BaseModel):
    version: int
    effective_from: date
    in_effect: bool = Field(description="今天是否适用此版本")
    criteria: Criteria
    note: str
    published_by: str
    created_at: datetime


class CatalogueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "agency_name": "杭州市西湖区市场监督管理局",
        "in_effect_version": 1, "versions": [{
            "version": 1, "effective_from": "2026-12-01", "in_effect": True, "criteria": _CRITERIA_EXAMPLE,
            "note": "", "published_by": "王法制", "created_at": "2026-11-20T09:30:00+08:00"}]}]})

    agency_id: uuid.UUID
    agency_name: str
    in_effect_version: int | None
    versions: list[CatalogueVersionOut]


# -- case facts and the flag -------------------------------------------------------------------------

_FACTS_NOT_NULL = ("type", "measures", "hearing_held", "public_interest", "complex_case", "major_rights",
                   "handling_unit")


def _facts_schema(schema: dict[str, Any]) -> None:
    # Omitted means unchanged: a field that may not be null documents no null default either.
    for name in _FACTS_NOT_NULL:
        schema.get("properties", {}).get(name, {}).pop("default", None)
    schema["examples"] = [{"amount": "50000.00", "measures": ["fine", "confiscation"], "hearing_held": True,
                           "handling_unit": "执法一队"}]


class CaseFactsPatch(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_facts_schema)

    type: CaseType | SkipJsonSchema[None] = None
    amount: Money | None = Field(None, description="罚没金额；null 表示无金额")
    measures: Measures | SkipJsonSchema[None] = None
    hearing_held: bool | SkipJsonSchema[None] = None
    public_interest: bool | SkipJsonSchema[None] = None
    complex_case: bool | SkipJsonSchema[None] = None
    major_rights: bool | SkipJsonSchema[None] = None
    handling_unit: Unit | SkipJsonSchema[None] = Field(None, description="承办机构（本机关内设单位）")

    @model_validator(mode="after")
    def _no_null_where_a_value_is_required(self) -> CaseFactsPatch:
        for name in _FACTS_NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} 不能为 null（不修改请省略该字段）")
        return self


class MajorReasonOut(BaseModel):
    code: str = Field(description="case_type、amount、licence_revocation、business_suspension、hearing_held、"
                                  "public_interest、complex_case、multi_party、major_rights、manual")
    text: str


class CaseFactsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "status": "investigating", "type": "penalty",
        "amount": "50000.00", "measures": ["fine"], "hearing_held": True, "public_interest": False,
        "complex_case": False, "major_rights": False, "handling_unit": "执法一队", "is_major": True,
        "major_by_catalogue": True, "major_catalogue_version": 1, "major_by_hand": False,
        "major_reasons": [{"code": "hearing_held", "text": "经过听证程序"}], "referred_to": "", "referred_on": None}]})

    case_id: uuid.UUID
    status: CaseStatus
    type: CaseType
    amount: Decimal | None
    measures: list[Measure]
    hearing_held: bool
    public_interest: bool
    complex_case: bool
    major_rights: bool
    handling_unit: str
    is_major: bool
    major_by_catalogue: bool
    major_catalogue_version: int | None
    major_by_hand: bool
    major_reasons: list[MajorReasonOut]
    referred_to: str
    referred_on: date | None


class MajorFlag(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"major": True, "reason": "涉及学校周边食品安全，社会关注度高"}]})

    major: bool = Field(description="true 人工标记为重大（执法人员）；false 取消人工标记（仅法制审核人员）")
    reason: Reason


# -- reviews -----------------------------------------------------------------------------------------

class ProposedDecision(Body):
    type: CaseType
    amount: Money | None = None
    measures: Measures = Field(default_factory=list)
    summary: Text = Field(description="拟作出的决定内容")


class ReviewSubmit(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "proposed_decision": {"type": "penalty", "amount": "50000.00", "measures": ["fine"],
                              "summary": "拟对当事人罚款人民币五万元。"},
        "facts": "当事人于2026年10月在未取得许可的情况下从事食品经营。",
        "evidence": ["现场检查笔录", "询问笔录", "现场照片6张"],
        "legal_basis": "《中华人民共和国食品安全法》第一百二十二条",
        "discretion_reasons": "违法所得较大，属较重情节，按裁量基准第三档。",
        "hearing_record": "2026年11月10日举行听证，当事人到场陈述。",
        "statement_record": "当事人书面陈述申辩已收悉。", "in_government_name": False}]})

    proposed_decision: ProposedDecision
    facts: Text
    evidence: list[EvidenceItem] = Field(min_length=1, max_length=200, description="证据清单")
    legal_basis: Text
    discretion_reasons: Text = Field(description="适用裁量基准的理由")
    hearing_record: OptionalText = Field("", description="听证笔录或情况（未听证可为空）")
    statement_record: OptionalText = Field("", description="陈述、申辩情况")
    in_government_name: bool = Field(False, description="以区政府名义作出：本机关审核通过后还须区政府法制机构审核")


class ChecklistAnswer(Body):
    ok: bool
    note: Note = ""


class ReferralIn(Body):
    receiving_body: BodyName = Field(description="接收机关（含司法机关）")
    referred_on: date


_CHECKLIST_EXAMPLE: dict[str, Any] = {p: {"ok": True, "note": ""} for p in (
    "agency_lawful", "officers_qualified", "procedure_lawful", "facts_clear", "evidence_sufficient",
    "law_and_discretion_correct", "within_powers", "documents_complete", "rights_honoured", "crime_transfer")}


class OpinionIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "outcome": "approve", "reasons": "事实清楚，证据充分，适用法律正确，程序合法。",
        "checklist": _CHECKLIST_EXAMPLE}]})

    outcome: ReviewOutcome = Field(description="approve 同意；correct 退回补正；refer 移送有权机关")
    reasons: Reason
    checklist: dict[PointName, ChecklistAnswer] = Field(
        max_length=20, description="逐项回答全部审核要点：agency_lawful, officers_qualified, procedure_lawful, "
                                   "facts_clear, evidence_sufficient, law_and_discretion_correct, within_powers, "
                                   "documents_complete, rights_honoured, crime_transfer")
    referral: ReferralIn | None = Field(None, description="outcome 为 refer 时必填")


class DisputeIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reasons": "补正要求所指证据已在卷，承办机构认为无需补充。"}]})

    reasons: Reason


class HeadDecisionIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "decision": "approve", "minutes": "2026年11月25日局长办公会集体讨论，五人出席，一致同意按承办意见作出决定。",
        "departs_from_opinion": True}]})

    decision: ReviewOutcome = Field(description="集体讨论决定：approve 同意作出决定；correct 补正；refer 移送")
    minutes: Text = Field(description="集体讨论纪要")
    departs_from_opinion: bool = Field(description="是否背离法制审核意见（须与决定一致）")
    referral: ReferralIn | None = Field(None, description="decision 为 refer 时必填")


class ChecklistOut(BaseModel):
    ok: bool
    note: str


class LegalReviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "case_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10",
        "round": 1, "level": "agency", "status": "submitted", "in_government_name": False,
        "proposed_decision": {"type": "penalty", "amount": "50000.00", "measures": ["fine"],
                              "summary": "拟对当事人罚款人民币五万元。"},
        "submitted_by_name": "张执法", "submitted_at": "2026-11-20T09:30:00+08:00", "due_on": "2026-11-27",
        "due_on_provisional": True, "clock": "green", "reviewer_name": "", "outcome": None, "reasons": "",
        "checklist": {}, "reviewed_at": None, "referred_to": "", "referred_on": None,
        "dispute_reasons": "", "disputed_by_name": "", "head_decision": None, "head_minutes": "",
        "head_departed_from_opinion": None, "head_name": "", "head_decided_at": None}]})

    id: uuid.UUID
    case_id: uuid.UUID
    round: int
    level: ReviewLevel
    status: ReviewStatus
    in_government_name: bool
    proposed_decision: ProposedDecisionOut
    submitted_by_name: str
    submitted_at: datetime
    due_on: date = Field(description="5个工作日后")
    due_on_provisional: bool = Field(description="true：工作日历尚未上线，暂按周一至周五计算")
    clock: Colour | None = Field(description="待审核时：red 已超期；yellow 明天（或今天）到期；green 其他")
    reviewer_name: str
    outcome: ReviewOutcome | None
    reasons: str
    checklist: dict[str, ChecklistOut]
    reviewed_at: datetime | None
    referred_to: str
    referred_on: date | None
    dispute_reasons: str
    disputed_by_name: str
    head_decision: ReviewOutcome | None
    head_minutes: str
    head_departed_from_opinion: bool | None
    head_name: str
    head_decided_at: datetime | None


class ProposedDecisionOut(BaseModel):
    type: CaseType
    amount: Decimal | None
    measures: list[Measure]
    summary: str


LegalReviewOut.model_rebuild()


class ReviewQuery(PageQuery):
    status: ReviewStatus | None = None
    level: ReviewLevel | None = None
    case_id: uuid.UUID | None = None


class ReviewPage(BaseModel):
    items: list[LegalReviewOut]
    page: int
    page_size: int
    total: int


# -- responsibility and supervision ------------------------------------------------------------------

class RoundOut(BaseModel):
    review_id: uuid.UUID
    round: int
    level: ReviewLevel
    status: ReviewStatus
    submitted_by_name: str
    submitted_by_role: str
    submitted_at: datetime
    reviewer_name: str
    reviewer_officer_id: uuid.UUID | None
    outcome: ReviewOutcome | None
    reviewed_at: datetime | None
    disputed_by_name: str
    head_name: str
    head_decision: ReviewOutcome | None
    head_departed_from_opinion: bool | None


class ApproverOut(BaseModel):
    name: str
    via: Literal["review", "head_decision"] = Field(description="review 审核人同意；head_decision 负责人集体讨论决定")
    level: ReviewLevel
    at: datetime | None


class DecisionMakerOut(BaseModel):
    decision_id: uuid.UUID
    document_no: str
    registered_by_name: str
    review_id: uuid.UUID | None


class ResponsibilityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "is_major": True, "rounds": [{
            "review_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "round": 1, "level": "agency",
            "status": "head_decided", "submitted_by_name": "张执法", "submitted_by_role": "officer",
            "submitted_at": "2026-11-20T09:30:00+08:00", "reviewer_name": "王法制",
            "reviewer_officer_id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10", "outcome": "correct",
            "reviewed_at": "2026-11-21T10:00:00+08:00", "disputed_by_name": "张执法", "head_name": "李局长",
            "head_decision": "approve", "head_departed_from_opinion": True}],
        "approved_by": [{"name": "李局长", "via": "head_decision", "level": "agency",
                         "at": "2026-11-25T16:00:00+08:00"}],
        "departed_from_opinion": True, "decisions": []}]})

    case_id: uuid.UUID
    is_major: bool
    rounds: list[RoundOut]
    approved_by: list[ApproverOut] = Field(description="通过当前审核的人（本机关，及政府名义决定的区政府法制机构）")
    departed_from_opinion: bool | None = Field(description="批准人是否背离法制审核意见；尚无批准时为 null")
    decisions: list[DecisionMakerOut]


class RatioRowOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    enforcement_officers: int
    legal_reviewers: int
    ratio_percent: float
    required_percent: int
    required_reviewers: int
    meets: bool
    reviewers: list[ReviewerOut] = Field(description="法制审核人员名册（当前在岗）")
    roster_filed_at: datetime | None = Field(None, description="最近一次向监督机构报备名册的时间；未报备为 null")
    roster_filed_by: str | None = Field(None, description="报备人")
    roster_filed_reviewers: int | None = Field(None, description="报备名册中的审核人员数")
    roster_current: bool = Field(False, description="报备名册与当前在岗审核人员是否一致（否则须重新报备）")


class RosterFilingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 3, "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "filed_at": "2026-11-20T09:30:00+08:00",
        "enforcement_officers": 40, "filed_by": "王五",
        "reviewers": [{"officer_id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10", "name": "李审核", "unit": "法制科"},
                      {"officer_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21", "name": "赵审核", "unit": "法制科"}]}]})

    id: int
    agency_id: uuid.UUID
    filed_at: datetime
    enforcement_officers: int
    filed_by: str
    reviewers: list[ReviewerOut]


class ReviewerOut(BaseModel):
    officer_id: uuid.UUID
    name: str
    unit: str


RatioRowOut.model_rebuild()


class RatioOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "agency_name": "杭州市西湖区市场监督管理局",
        "enforcement_officers": 40, "legal_reviewers": 1, "ratio_percent": 2.5, "required_percent": 5,
        "required_reviewers": 2, "meets": False,
        "reviewers": [{"officer_id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10", "name": "王法制", "unit": "法制科"}]}],
        "short": 1}]})

    items: list[RatioRowOut]
    short: int = Field(description="未达标的机关数")


class OverdueQuery(PageQuery):
    kind: Literal["review", "publication", "withdrawal", "complaint", "rectification", "register",
                  "statistics"] = Field(
        description="review 待审核的法制审核（5个工作日）；publication 尚未公示的执法决定（决定日期后7或20个工作日）；"
                    "withdrawal 已登记撤销但仍在公示的决定（3个工作日）；complaint 超期未受理或未答复的投诉举报；"
                    "rectification 逾期未书面答复的责令整改（含已提请政府层级督办的）；"
                    "register 尚未公开的执法公开清单变更（变更之日起20个工作日）；"
                    "statistics 上年度统计年报未报送（1月15日）或未公开（1月31日）")


class OverdueItemOut(BaseModel):
    kind: Literal["review", "publication", "withdrawal"] = "review"
    agency_id: uuid.UUID
    agency_name: str
    case_id: uuid.UUID
    case_number: str
    due_on: date
    due_on_provisional: bool = Field(
        description="true：期限跨入尚未载入国务院节假日安排的年份，暂按周末和固定日期节日计算")
    clock: Colour = Field(description="red 已超期；yellow 今天或明天到期")
    days_overdue: int
    review_id: uuid.UUID | None = Field(None, description="kind=review")
    level: ReviewLevel | None = Field(None, description="kind=review")
    round: int | None = Field(None, description="kind=review")
    decision_id: uuid.UUID | None = Field(None, description="kind=publication、withdrawal")
    document_no: str | None = Field(None, description="kind=publication、withdrawal")
    decision_type: CaseType | None = Field(None, description="kind=publication、withdrawal")
    decided_at: date | None = Field(None, description="kind=publication、withdrawal")
    revocation_reason: RevocationReason | None = Field(None, description="kind=withdrawal")
    revoked_on: date | None = Field(None, description="kind=withdrawal")


class OverduePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "kind": "review", "review_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10",
        "agency_name": "杭州市西湖区市场监督管理局", "case_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21",
        "case_number": "2026-3F2A91C0", "level": "agency", "round": 1, "due_on": "2026-11-27",
        "due_on_provisional": False, "clock": "red", "days_overdue": 2}], "page": 1, "page_size": 20, "total": 1,
        "calendar_warning": None}, {"items": [{
            "kind": "publication", "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
            "agency_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "agency_name": "杭州市西湖区市场监督管理局",
            "case_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21", "case_number": "2026-3F2A91C0",
            "document_no": "杭西市监罚〔2026〕12号", "decision_type": "penalty", "decided_at": "2026-12-21",
            "due_on": "2026-12-30", "due_on_provisional": False, "clock": "yellow", "days_overdue": 0}],
            "page": 1, "page_size": 20, "total": 1,
            "calendar_warning": "2027 年的国务院节假日安排尚未载入：涉及该年的期限暂按周末和固定日期节日"
                                "（元旦、劳动节、国庆节）计算并标记为暂定；……请在通知公布后运行 "
                                "yangguang calendar load 载入，已存的期限将自动重算"}]})

    items: list[OverdueItemOut | ComplaintOverdueOut | RectificationOverdueOut | RegisterOverdueOut
                | StatisticsOverdueOut]
    page: int
    page_size: int
    total: int
    calendar_warning: str | None = Field(
        None, description="当年（或12月里的下一年）的国务院节假日安排尚未载入时的提醒；载入后消失")
