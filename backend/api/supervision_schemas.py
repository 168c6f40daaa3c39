"""Bodies of the supervision routes beyond reviews and complaints: orders to rectify (R-X3), zero
enforcement and repeated inspections (R-X4)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.http.schemas import Body, PageQuery, stripped, stripped_nonempty
from backend.models.enums import RectificationStatus

Text = Annotated[str, StringConstraints(min_length=1, max_length=5000), AfterValidator(stripped_nonempty)]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(stripped)]
ID = "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"
AGENCY_ID = "dac1024f-dc36-48ce-9802-3b5c437b000b"
BODY_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


class RectificationIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "agency_id": AGENCY_ID, "subject": "2026年第三季度执法决定公示超期3件，请于期限内整改并书面报告",
        "due_on": "2026-12-31", "case_id": None, "complaint_id": None}]})

    agency_id: uuid.UUID = Field(description="被责令整改的执法机关（须以本监督机构为其执法监督机构）")
    subject: Text = Field(description="整改事项；保存前按公示规则隐去自然人姓名、证件号、电话、住址等")
    due_on: date = Field(description="整改期限（今天之后、一年之内）；逾期未书面答复的自动提请政府层级督办")
    case_id: uuid.UUID | None = Field(None, description="关联的本机关案件（可选）")
    complaint_id: uuid.UUID | None = Field(None, description="关联的本机关投诉（可选）")


class RectificationAnswerIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": "已补充公示3件决定，并建立公示期限提醒制度。",
        "evidence_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"}]})

    answer: Text = Field(description="书面答复（整改情况）；保存前按公示规则隐去个人信息")
    evidence_id: uuid.UUID | None = Field(
        None, description="整改材料：本机关已上传的一份证据文件（POST /api/v1/cases/{id}/evidence），可选")


class AcceptIn(Body):
    note: Note = Field("", description="认可意见（可选）")


class ReturnIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reason": "未说明制度落实情况，请补充", "due_on": "2027-01-15"}]})

    reason: Text = Field(description="退回理由")
    due_on: date | None = Field(None, description="新的整改期限（可选；不填则沿用原期限）")


class RectificationQuery(PageQuery):
    status: RectificationStatus | None = Field(None, description="按状态筛选（escalated：已提请政府督办）")
    agency_id: uuid.UUID | None = Field(None, description="只看某一机关的（监督机构）")
    overdue: bool | None = Field(None, description="true：只看逾期未答复的；false：只看未逾期的")


class OwnRectificationQuery(PageQuery):
    status: RectificationStatus | None = Field(None, description="按状态筛选")
    overdue: bool | None = Field(None, description="true：只看逾期未答复的；false：只看未逾期的")


class RectificationStepOut(BaseModel):
    action: Literal["order", "answer", "accept", "return", "escalate"]
    status: RectificationStatus = Field(description="该环节之后的状态")
    text: str = Field(description="整改事项、书面答复、认可意见或退回理由（已隐去个人信息）")
    at: datetime
    actor_name: str = Field(description="该环节的责任人（密钥持有人），或自动督办的系统名")
    actor_role: str
    due_on: date | None = Field(None, description="action=order、return：整改期限")
    evidence_id: uuid.UUID | None = Field(None, description="action=answer：整改材料")
    escalated_to: uuid.UUID | None = Field(None, description="action=escalate：督办的政府层级（该机关的执法监督机构）")
    leaf_index: int | None = Field(description="该环节在透明日志中的叶序号")


class RectificationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": ID, "agency_id": AGENCY_ID, "agency_name": "杭州市西湖区市场监督管理局",
        "ordered_by_agency_id": BODY_ID, "ordered_by_name": "吴静",
        "subject": "2026年第三季度执法决定公示超期3件，请于期限内整改并书面报告", "due_on": "2026-12-31",
        "status": "answered", "case_id": None, "complaint_id": None, "ordered_at": "2026-12-04T10:00:00+08:00",
        "answer": "已补充公示3件决定，并建立公示期限提醒制度。", "answer_evidence_id": None,
        "answered_at": "2026-12-20T15:00:00+08:00", "escalated_at": None, "closed_at": None,
        "overdue": False, "days_overdue": 0,
        "steps": [{"action": "order", "status": "ordered",
                   "text": "2026年第三季度执法决定公示超期3件，请于期限内整改并书面报告",
                   "at": "2026-12-04T10:00:00+08:00", "actor_name": "吴静", "actor_role": "supervisor",
                   "due_on": "2026-12-31", "evidence_id": None, "escalated_to": None, "leaf_index": 57},
                  {"action": "answer", "status": "answered", "text": "已补充公示3件决定，并建立公示期限提醒制度。",
                   "at": "2026-12-20T15:00:00+08:00", "actor_name": "周立", "actor_role": "admin",
                   "due_on": None, "evidence_id": None, "escalated_to": None, "leaf_index": 63}]}]})

    id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    ordered_by_agency_id: uuid.UUID | None = Field(description="责令整改的执法监督机构")
    ordered_by_name: str = Field(description="责令整改的人（监督密钥持有人）")
    subject: str = Field(description="整改事项（已隐去个人信息）")
    due_on: date
    status: RectificationStatus = Field(description="ordered 待整改；answered 已书面答复；returned 答复被退回；"
                                                    "escalated 逾期未答复，已提请政府层级督办；accepted 整改已认可")
    case_id: uuid.UUID | None
    complaint_id: uuid.UUID | None
    ordered_at: datetime | None
    answer: str = Field(description="最近一次书面答复（已隐去个人信息）")
    answer_evidence_id: uuid.UUID | None
    answered_at: datetime | None
    escalated_at: datetime | None = Field(description="提请政府层级督办的时间（每件至多一次）")
    closed_at: datetime | None = Field(description="整改被认可的时间")
    overdue: bool = Field(description="逾期尚未书面答复")
    days_overdue: int
    steps: list[RectificationStepOut] = []


class RectificationPage(BaseModel):
    items: list[RectificationOut]
    page: int
    page_size: int
    total: int


class RectificationOverdueOut(BaseModel):
    """An item of ``GET /api/v1/supervision/overdue?kind=rectification``."""

    kind: Literal["rectification"] = "rectification"
    rectification_id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    status: RectificationStatus
    due_on: date
    days_overdue: int
    escalated: bool = Field(description="已提请政府层级督办")


class YearQuery(Body):
    year: int | None = Field(None, ge=2000, le=2100, description="统计年份（默认今年，今年为截至今天）")


class IdleAgencyOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    region: str
    last_enforcement_on: date | None = Field(description="该年之前最近一次执法决定或案件环节的日期；从未有过为 null")


class ZeroEnforcementOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "year": 2026, "complete": False, "agencies_checked": 12,
        "rule": "该年内没有作出任何执法决定，也没有任何案件环节（检查、调查、送达……）发生",
        "items": [{"agency_id": AGENCY_ID, "agency_name": "杭州市西湖区某执法局", "region": "杭州市西湖区",
                   "last_enforcement_on": "2025-06-30"}]}]})

    year: int
    complete: bool = Field(description="false：今年，截至今天")
    agencies_checked: int = Field(description="参与统计的执法机关和受委托组织数（不含监督机构）")
    rule: str
    items: list[IdleAgencyOut] = Field(description="零执法的机关")


class WindowQuery(Body):
    days: int | None = Field(None, ge=1, le=366,
                             description="统计窗口天数（截至今天；默认 YANGGUANG_REPEATED_INSPECTION_DAYS，30）")


class VisitOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    on: date = Field(description="现场检查日期")
    case_ids: list[uuid.UUID]


class RepeatedInspectionOut(BaseModel):
    credit_code: str = Field(description="统一社会信用代码（组织当事人登记的）")
    name: str = Field(description="企业名称（最近一次检查登记的）")
    visits: int
    agencies: int = Field(description="检查过的机关数")
    items: list[VisitOut]


class RepeatedInspectionsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "since": "2026-11-05", "until": "2026-12-04", "days": 30,
        "rule": "同一企业（统一社会信用代码）在窗口内被现场检查两次及以上；同一机关同一天的检查记为一次",
        "items": [{"credit_code": "91330106MA2B3C4D5E", "name": "杭州某某餐饮有限公司", "visits": 2, "agencies": 2,
                   "items": [{"agency_id": AGENCY_ID, "agency_name": "杭州市西湖区市场监督管理局", "on": "2026-11-12",
                              "case_ids": ["7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"]},
                             {"agency_id": BODY_ID, "agency_name": "杭州市西湖区卫生健康局", "on": "2026-11-20",
                              "case_ids": ["8c2e5f10-3a4b-4c5d-8e9f-0a1b2c3d4e5f"]}]}]}]})

    since: date
    until: date
    days: int
    rule: str
    items: list[RepeatedInspectionOut]
