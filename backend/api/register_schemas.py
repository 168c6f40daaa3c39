"""Bodies of the agency's register endpoints (R-D1, R-D3, R-D4). What each kind holds:
``backend/http/register_content.py``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.http.register_content import (
    CONTENT,
    EXAMPLES,
    AgencyContent,
    Day,
    EntrustedOrgContent,
    FlowchartContent,
    InspectionItemContent,
    PowerContent,
    ServiceGuideContent,
)
from backend.http.schemas import Body, PageQuery, stripped_nonempty
from backend.models.enums import PublishState, RegisterKind, RegisterReviewOutcome

Colour = Literal["green", "yellow", "red"]
ItemCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Opinion = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(stripped_nonempty)]
RetirementReason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(stripped_nonempty)]

_CODE = Field(description="本机关为该事项确定的稳定编码（字母、数字、点、下划线、连字符，最长64位）；"
                          "同一编码的再次提交即为该事项的新版本")
_EFFECTIVE = Field(description="本版本的生效日期；不能早于已公开版本的生效日期")


def _example(kind: RegisterKind, **extra: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {**extra, "effective_from": "2026-12-01", "content": EXAMPLES[kind]}]})


class AgencyVersionIn(Body):
    model_config = _example(RegisterKind.AGENCY)
    effective_from: Day = _EFFECTIVE
    content: AgencyContent


class EntrustedOrgVersionIn(Body):
    """The item is the organisation: its credit code in the content is its code."""

    model_config = _example(RegisterKind.ENTRUSTED_ORG)
    effective_from: Day = _EFFECTIVE
    content: EntrustedOrgContent


class PowerVersionIn(Body):
    model_config = _example(RegisterKind.POWER, code="XZCF-0001")
    code: ItemCode = _CODE
    effective_from: Day = _EFFECTIVE
    content: PowerContent


class InspectionItemVersionIn(Body):
    model_config = _example(RegisterKind.INSPECTION_ITEM, code="SJCC-0001")
    code: ItemCode = _CODE
    effective_from: Day = _EFFECTIVE
    content: InspectionItemContent


class ServiceGuideVersionIn(Body):
    model_config = _example(RegisterKind.SERVICE_GUIDE, code="FWZN-0001")
    code: ItemCode = _CODE
    effective_from: Day = _EFFECTIVE
    content: ServiceGuideContent


class FlowchartVersionIn(Body):
    model_config = _example(RegisterKind.FLOWCHART, code="LCT-0001")
    code: ItemCode = _CODE
    effective_from: Day = _EFFECTIVE
    content: FlowchartContent


VERSION_IN: dict[RegisterKind, type[Body]] = {
    RegisterKind.AGENCY: AgencyVersionIn, RegisterKind.ENTRUSTED_ORG: EntrustedOrgVersionIn,
    RegisterKind.POWER: PowerVersionIn, RegisterKind.INSPECTION_ITEM: InspectionItemVersionIn,
    RegisterKind.SERVICE_GUIDE: ServiceGuideVersionIn, RegisterKind.FLOWCHART: FlowchartVersionIn,
}
assert set(VERSION_IN) == set(CONTENT)


class ReviewIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"outcome": "approved", "opinion": "设定依据、程序和救济渠道准确，同意公开"},
        {"outcome": "returned", "opinion": "救济渠道缺少行政复议机关，请补充后重新提交"}]})

    outcome: RegisterReviewOutcome = Field(description="approved 审核通过；returned 退回（需提交新版本）")
    opinion: Opinion = Field(description="审核意见（必填）")


class RetirementIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"effective_from": "2027-01-01", "reason": "该行政处罚事项依据的《某某条例》已于2026年12月31日废止"}]})

    effective_from: Day = Field(description="自该日起公众不再看到该项；不能早于已公开版本的生效日期")
    reason: RetirementReason = Field(description="停止公开的理由（公开）：如依据废止、委托协议终止、服务事项取消")


class RegisterReviewOut(BaseModel):
    outcome: RegisterReviewOutcome
    opinion: str
    reviewer_name: str = Field(description="审核人（密钥持有人）")
    reviewer_role: str
    reviewed_at: datetime
    leaf_index: int | None = Field(description="该审核在透明日志中的叶序号")


class RegisterStepOut(BaseModel):
    action: str = Field(description="propose 提出、retire 提出停止公开、submit 提交审核、approve 审核通过、"
                                    "return 退回、publish 公开、supersede 被新版本取代；"
                                    "carry_over 升级前已有的版本（无日志条目）")
    state: PublishState = Field(description="该环节之后的状态")
    at: datetime
    actor_name: str
    actor_role: str
    leaf_index: int | None = Field(description="该环节在透明日志中的叶序号")


_VERSION_EXAMPLE: dict[str, Any] = {
    "id": "3c9a1f52-7d4e-4b8a-9f10-2a3b4c5d6e7f", "kind": "power", "code": "XZCF-0001", "version": 2,
    "title": EXAMPLES[RegisterKind.POWER]["name"], "effective_from": "2026-12-01", "state": "approved",
    "retirement": False, "retirement_reason": "", "content": EXAMPLES[RegisterKind.POWER],
    "changed_on": "2026-11-20", "publish_due_on": "2026-12-18",
    "publish_due_on_provisional": False, "author_name": "钱管理", "created_at": "2026-11-20T10:00:00+08:00",
    "submitted_at": "2026-11-20T10:05:00+08:00", "submitted_by_name": "钱管理", "published_at": None,
    "published_by_name": "", "reviews": [{"outcome": "approved", "opinion": "依据准确，同意公开",
                                          "reviewer_name": "王法制", "reviewer_role": "reviewer",
                                          "reviewed_at": "2026-11-23T09:30:00+08:00", "leaf_index": 1203}],
    "steps": [{"action": "propose", "state": "draft", "at": "2026-11-20T10:00:00+08:00", "actor_name": "钱管理",
               "actor_role": "admin", "leaf_index": 1187},
              {"action": "submit", "state": "pending_review", "at": "2026-11-20T10:05:00+08:00",
               "actor_name": "钱管理", "actor_role": "admin", "leaf_index": 1188},
              {"action": "approve", "state": "approved", "at": "2026-11-23T09:30:00+08:00", "actor_name": "王法制",
               "actor_role": "reviewer", "leaf_index": 1203}],
    "allowed_actions": ["publish", "supersede"]}


class RegisterVersionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VERSION_EXAMPLE]})

    id: uuid.UUID
    kind: RegisterKind
    code: str
    version: int
    title: str
    effective_from: date
    state: PublishState = Field(description="draft 草稿、pending_review 待审核、approved 审核通过待公开、"
                                            "published 已公开、rejected 已退回、superseded 已被新版本取代")
    retirement: bool = Field(description="true：本版本是停止公开（废止）该项，自生效日期起公众不再看到该项")
    retirement_reason: str = Field(description="停止公开的理由；其他版本为空")
    content: dict[str, Any] = Field(description="本版本的内容；停止公开的版本为空对象")
    changed_on: date = Field(description="本次变更最初提出之日（20个工作日的起算日）")
    publish_due_on: date = Field(description="应当公开的最后一日：变更之日起20个工作日")
    publish_due_on_provisional: bool = Field(
        description="true：期限跨入尚未载入国务院节假日安排的年份，暂按周末和固定日期节日计算")
    author_name: str
    created_at: datetime
    submitted_at: datetime | None
    submitted_by_name: str
    published_at: datetime | None
    published_by_name: str
    reviews: list[RegisterReviewOut]
    steps: list[RegisterStepOut] = Field(description="本版本的每个环节，从旧到新，各为透明日志的一个条目")
    allowed_actions: list[str] = Field(description="当前状态下允许的操作（REGISTER_ITEM 状态表）")


class RegisterItemOut(BaseModel):
    kind: RegisterKind
    code: str
    latest: RegisterVersionOut = Field(description="最新版本（可能尚未公开）")
    in_effect_version: int | None = Field(description="今天生效的已公开版本号；没有则为 null")
    retired: bool = Field(description="true：今天生效的是停止公开的版本，公众已看不到该项")


class RegisterItemPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"kind": "power", "code": "XZCF-0001", "latest": _VERSION_EXAMPLE, "in_effect_version": 1,
                   "retired": False}],
        "page": 1, "page_size": 20, "total": 1}]})

    items: list[RegisterItemOut]
    page: int
    page_size: int
    total: int


class RegisterItemHistory(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "power", "code": "XZCF-0001", "in_effect_version": 1, "retired": False,
        "versions": [_VERSION_EXAMPLE]}]})

    kind: RegisterKind
    code: str
    in_effect_version: int | None
    retired: bool = Field(description="true：今天生效的是停止公开的版本")
    versions: list[RegisterVersionOut] = Field(description="全部版本，从旧到新，含审核记录")


class RegisterItemQuery(PageQuery):
    pass


class RegisterOverdueOut(BaseModel):
    """An item of ``GET /api/v1/supervision/overdue?kind=register``."""

    kind: Literal["register"] = "register"
    version_id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    register_kind: RegisterKind
    code: str
    title: str
    version: int
    state: PublishState
    changed_on: date = Field(description="变更之日")
    due_on: date
    due_on_provisional: bool
    clock: Colour = Field(description="red 已超期；yellow 今天或明天到期")
    days_overdue: int

