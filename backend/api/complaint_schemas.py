"""Bodies of the agency's and the supervisor's complaint routes (R-X2)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.http.schemas import Body, PageQuery, stripped, stripped_nonempty
from backend.models.enums import ComplaintAbout, ComplaintKind, ComplaintStatus

Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(stripped)]
AnswerText = Annotated[str, StringConstraints(min_length=1, max_length=5000), AfterValidator(stripped_nonempty)]
ID = "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"


class ComplaintQuery(PageQuery):
    status: ComplaintStatus | None = Field(None, description="按状态筛选")
    overdue: bool | None = Field(None, description="true：只看超期未受理或超期未答复的；false：只看未超期的")


class StepIn(Body):
    note: Note = Field("", description="办理说明（可选；投诉人看不到，监督机构可见）")


class AnswerIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": "经调查，执法人员确有态度问题，已批评教育。"}]})

    answer: AnswerText = Field(description="答复内容：投诉人凭受理编号和查询码看到的原文")


class ComplainantOut(BaseModel):
    """Only for the handling agency's admins and the supervisor."""

    phone: str | None = Field(description="经短信验证码验证的手机号；匿名投诉为 null")
    wechat: bool = Field(description="以小程序微信登录身份实名提交（openid 不对任何人显示）")
    address: str = Field(description="投诉人填写的地点文字")


class ComplaintStepOut(BaseModel):
    action: str = Field(description="acknowledge、handle、answer、rate、escalate、close")
    status: ComplaintStatus = Field(description="该环节之后的状态")
    note: str
    score: int | None = Field(None, description="评价分数（action=rate）")
    reason: str | None = Field(None, description="上报原因（action=escalate）：overdue_acknowledge、overdue_answer、"
                                                 "unsatisfied")
    at: datetime
    actor_name: str
    actor_role: str
    leaf_index: int | None


class ComplaintOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": ID, "tracking_no": "T261204-7K3M-9Q2X", "kind": "complaint", "about": "officer",
        "agency_id": "dac1024f-dc36-48ce-9802-3b5c437b000b", "officer_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "case_id": None, "decision_id": None, "text": "执法人员态度粗暴",
        "photos": ["7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"],
        "latitude": 30.27, "longitude": 120.16, "anonymous": False,
        "complainant": {"phone": "13800138000", "wechat": False, "address": "西湖区文三路"},
        "status": "acknowledged", "submitted_at": "2026-12-04T10:00:00+08:00", "acknowledge_due_on": "2026-12-08",
        "answer_due_on": "2026-12-25", "due_on_provisional": True, "overdue": None,
        "acknowledged_at": "2026-12-07T09:00:00+08:00", "answered_at": None, "escalated_at": None,
        "escalation_reason": "", "answer": "", "satisfaction": None, "leaf_index": 41,
        "steps": [{"action": "acknowledge", "status": "acknowledged", "note": "", "score": None, "reason": None,
                   "at": "2026-12-07T09:00:00+08:00", "actor_name": "王管理员", "actor_role": "admin",
                   "leaf_index": 42}]}]})

    id: uuid.UUID
    tracking_no: str
    kind: ComplaintKind
    about: ComplaintAbout
    agency_id: uuid.UUID
    officer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    decision_id: uuid.UUID | None
    text: str = Field(description="投诉内容；无权查看投诉人身份的角色看到的文本已隐去电话和身份证号")
    photos: list[uuid.UUID] = Field(description="照片（GET /api/v1/complaints/{id}/photos/{upload_id}）")
    latitude: float | None = Field(description="粗略位置（两位小数，约 1 公里）")
    longitude: float | None
    anonymous: bool
    complainant: ComplainantOut | None = Field(
        description="投诉人身份：仅本机构管理员和监督机构可见，其他角色为 null")
    status: ComplaintStatus
    submitted_at: datetime
    acknowledge_due_on: date | None
    answer_due_on: date | None
    due_on_provisional: bool = Field(description="true：时限暂按周一至周五计算，尚未计入法定节假日和调休")
    overdue: Literal["acknowledge", "answer"] | None = Field(description="已超过的时限：受理或答复")
    acknowledged_at: datetime | None
    answered_at: datetime | None
    escalated_at: datetime | None
    escalation_reason: str
    answer: str
    satisfaction: int | None = Field(description="投诉人对最近一次答复的评分（1–5）")
    leaf_index: int | None = Field(description="收件记录在透明日志中的叶序号")
    steps: list[ComplaintStepOut] = []


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    page: int
    page_size: int
    total: int


class LimitsIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"acknowledge_days": 2, "answer_days": 15}]})

    acknowledge_days: int = Field(ge=1, le=60, description="受理时限（工作日，自收到之日起）")
    answer_days: int = Field(ge=1, le=60, description="答复时限（工作日，自收到之日起；不小于受理时限）")


class LimitsOut(BaseModel):
    acknowledge_days: int
    answer_days: int
    custom: bool = Field(description="false：使用默认时限（受理 2 个工作日，答复 15 个工作日）")


class SatisfactionRowOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    received: int
    open: int = Field(description="尚未答复的（含已上报的）")
    overdue: int
    escalated: int = Field(description="当前处于上报督办状态的")
    rated: int = Field(description="被评价的答复数（同一投诉再次答复后可再次评价）")
    satisfied: int = Field(description="评分 ≥ 4 的答复数")
    satisfaction_percent: float | None = Field(description="满意率 = satisfied / rated × 100；尚无评价时为 null")
    meets_target: bool | None = Field(description="满意率是否达到 90% 的目标")


class SatisfactionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"target_percent": 90, "items": [{
        "agency_id": ID, "agency_name": "杭州市西湖区市场监督管理局", "received": 12, "open": 3, "overdue": 1,
        "escalated": 1, "rated": 8, "satisfied": 7, "satisfaction_percent": 87.5, "meets_target": False}],
        "below_target": 1}]})

    target_percent: int
    items: list[SatisfactionRowOut]
    below_target: int


class ComplaintOverdueOut(BaseModel):
    """An item of ``GET /api/v1/supervision/overdue?kind=complaint``."""

    kind: Literal["complaint"] = "complaint"
    complaint_id: uuid.UUID
    tracking_no: str
    agency_id: uuid.UUID
    agency_name: str
    status: ComplaintStatus
    late: Literal["acknowledge", "answer"] = Field(description="超过的时限：受理或答复")
    due_on: date
    due_on_provisional: bool
    days_overdue: int
    escalated: bool
