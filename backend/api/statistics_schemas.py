"""Bodies of the remedies and the annual-statistics endpoints of the agency API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.api.case_schemas import RevocationOut
from backend.http.schemas import Body, stripped
from backend.http.statistics_schemas import FIGURES_EXAMPLE, FiguresOut
from backend.models.enums import RemedyKind, RemedyOutcome, StatisticsStatus

ID = "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"
Authority = Annotated[str, StringConstraints(max_length=200), AfterValidator(stripped)]
DocumentNo = Annotated[str, StringConstraints(max_length=100), AfterValidator(stripped)]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(stripped)]
Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(stripped)]
OUTCOMES = ("pending 审理中；upheld 维持（复议维持、判决驳回诉讼请求）；revoked 撤销（含部分撤销、撤销并责令重作）；"
            "changed 变更；confirmed_illegal 确认违法；confirmed_invalid 确认无效；ordered_to_perform 责令履行；"
            "dismissed 驳回复议申请或裁定驳回起诉；withdrawn 撤回申请或撤诉；mediated 调解或和解；other 其他")


class RemedyIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "reconsideration", "outcome": "pending", "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
         "filed_on": "2026-03-02", "authority": "杭州市西湖区人民政府", "note": "当事人不服罚款决定"},
        {"proceeding_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "outcome": "upheld", "decided_on": "2026-04-20",
         "document_no": "西政复〔2026〕31号"}]})

    proceeding_id: uuid.UUID | None = Field(
        None, description="登记已有复议或诉讼的后续结果时填写（其首次登记的 id）；不填则为新的复议或诉讼")
    kind: RemedyKind | None = Field(None, description="reconsideration 行政复议；litigation 行政诉讼（新登记时必填）")
    outcome: RemedyOutcome = Field(description=OUTCOMES)
    decision_id: uuid.UUID | None = Field(
        None, description="被申请复议或被诉的本案决定（可不填：针对案件中的其他行为）")
    filed_on: date | None = Field(None, description="申请复议或起诉的日期（新登记时必填，不得晚于今天）")
    decided_on: date | None = Field(None, description="结果文书的日期（outcome 不是 pending 时必填，不得晚于今天）")
    authority: Authority = Field("", description="复议机关或人民法院（新登记时必填；后续结果不填则沿用）")
    document_no: DocumentNo = Field("", description="复议决定书、判决书或裁定书文号")
    note: Note = Field("", description="内部备注（不公开）")


class RemedyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "proceeding_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "seq": 1, "case_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21",
        "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "kind": "reconsideration", "outcome": "pending",
        "filed_on": "2026-03-02", "decided_on": None, "authority": "杭州市西湖区人民政府", "document_no": "",
        "note": "当事人不服罚款决定", "recorded_by": "张执法", "recorded_role": "officer",
        "recorded_at": "2026-03-03T09:30:00+08:00", "leaf_index": 1024}]})

    id: uuid.UUID
    proceeding_id: uuid.UUID
    seq: int = Field(description="1 为首次登记，其后每个结果一条")
    case_id: uuid.UUID
    decision_id: uuid.UUID | None
    kind: RemedyKind
    outcome: RemedyOutcome
    filed_on: date
    decided_on: date | None
    authority: str
    document_no: str
    note: str
    recorded_by: str = Field(description="登记人（密钥持有人）")
    recorded_role: str
    recorded_at: datetime
    leaf_index: int | None = Field(description="透明日志中的条目序号")


class RemedyRecorded(RemedyOut):
    """The entry just recorded, and the revocation its outcome registered, if it did."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", "proceeding_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "seq": 2, "case_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21",
        "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "kind": "reconsideration", "outcome": "revoked",
        "filed_on": "2026-03-02", "decided_on": "2026-05-20", "authority": "杭州市西湖区人民政府",
        "document_no": "西政复〔2026〕31号", "note": "", "recorded_by": "张执法", "recorded_role": "officer",
        "recorded_at": "2026-05-21T09:30:00+08:00", "leaf_index": 1090,
        "revocation": {"id": "2b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e",
                       "decision_id": "8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "reason": "revoked",
                       "date": "2026-05-20", "basis": "行政复议杭州市西湖区人民政府西政复〔2026〕31号",
                       "recorded_by": "张执法", "recorded_at": "2026-05-21T09:30:00+08:00",
                       "withdraw_due_on": "2026-05-25", "withdraw_due_on_provisional": False}}]})

    revocation: RevocationOut | None = Field(description=(
        "结果为撤销、确认违法或确认无效，且被申请的决定仍在公示中、尚未登记撤销时：本次登记同时登记的撤销"
        "（3个工作日的撤回公示期限自结果文书日期起算，同 POST /api/v1/decisions/{id}/revocations）；否则为 null"))


class RemedyList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": RemedyOut.model_json_schema()["examples"]}]})

    items: list[RemedyOut]


class StatisticsReportQuery(Body):
    agency_id: uuid.UUID | None = Field(None, description="监督机构必填：要查看的机关；机关只能看本机关（可不填）")


class StatisticsSubmitIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": ""},
                                                                             {"reason": "补录12月的两件处罚决定"}]})

    reason: Reason = Field("", description="再次报送（更正）时必填：更正原因")


class StatisticsVersionOut(BaseModel):
    version: int
    figures: FiguresOut
    reason: str
    submitted_at: datetime
    submitted_by: str
    submitted_role: str
    published_at: datetime | None
    published_by: str | None
    leaf_index: int | None


class StatisticsReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "agency_id": ID, "agency_name": "杭州市西湖区市场监督管理局", "year": 2025, "status": "submitted",
        "submit_due_on": "2026-01-15", "publish_due_on": "2026-01-31", "current_version": 1,
        "published_version": None, "live": FIGURES_EXAMPLE,
        "versions": [{"version": 1, "figures": FIGURES_EXAMPLE, "reason": "",
                      "submitted_at": "2026-01-12T10:00:00+08:00",
                      "submitted_by": "李法制", "submitted_role": "head", "published_at": None, "published_by": None,
                      "leaf_index": 2048}]}]})

    agency_id: uuid.UUID
    agency_name: str
    year: int
    status: StatisticsStatus = Field(description="draft 未报送；submitted 已报送监督机构（待公开）；published 已公开")
    submit_due_on: date = Field(description="报送监督机构的期限：次年1月15日")
    publish_due_on: date = Field(description="向社会公开的期限：次年1月31日")
    current_version: int = Field(description="最近报送的版本（0：尚未报送）")
    published_version: int | None = Field(description="公众看到的版本")
    live: FiguresOut = Field(description="按现有记录即时计算的数字（报送时冻结为新版本）")
    versions: list[StatisticsVersionOut] = Field(description="历次报送的版本，冻结不变")


class StatisticsOverdueOut(BaseModel):
    """An item of ``GET /api/v1/supervision/overdue?kind=statistics``."""

    kind: Literal["statistics"] = "statistics"
    agency_id: uuid.UUID
    agency_name: str
    year: int = Field(description="统计年报的年度")
    stage: Literal["submission", "publication"] = Field(
        description="submission 尚未报送监督机构（次年1月15日）；publication 已报送尚未公开（次年1月31日）")
    status: StatisticsStatus
    due_on: date
    due_on_provisional: bool = Field(False, description="固定日期，从不暂定")
    clock: Literal["green", "yellow", "red"] = Field(description="red 已超期；yellow 今天或明天到期")
    days_overdue: int

