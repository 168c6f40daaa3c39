"""Bodies and answers of the Open311 GeoReport v2 surface (/open311/v2/, JSON only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    WithJsonSchema,
)

from backend.http.schemas import Body, EventTime, stripped, stripped_nonempty

TRACKING = "T261204-7K3M-9Q2X"
AGENCY = "dac1024f-dc36-48ce-9802-3b5c437b000b"


def _blank_is_none(value: Any) -> Any:
    # Form clients send every field, empty ones as "": an empty optional field is an absent one.
    return None if isinstance(value, str) and not value.strip() else value


def _not_supported(what: str) -> Any:
    def refuse(value: Any) -> Any:
        if value is not None:
            raise ValueError(what)
        return value
    return refuse


NO_ADDRESS_IDS = "本系统不使用地址编号，请用 address_string"
NO_MEDIA_URLS = "本系统不下载外部链接中的图片"
Opt = BeforeValidator(_blank_is_none)
# The length limit inside the union: applied to a string, never to the None an empty field became.
ShortOpt = Annotated[Annotated[str, StringConstraints(max_length=100)] | None, Opt]
# Accepted because GeoReport clients send them, never stored: the hotline keeps the caller's identity.
Discarded = Annotated[Annotated[str, StringConstraints(max_length=200)] | None, Opt]
Description = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(stripped_nonempty)]
CommaList = Annotated[Annotated[str, StringConstraints(max_length=2000)] | None, Opt]
# A date-time, or the empty field GeoReport clients send for "not given" (described so, not only accepted).
OptTime = Annotated[EventTime | None, Opt, WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}, {"type": "null"}]})]


class ServiceOut(BaseModel):
    service_code: str = Field(description="complaint 投诉；report 举报；suggestion 建议")
    service_name: str
    description: str
    metadata: bool = Field(description="true：提交时须带 attribute[agency_id]，定义见 services/{service_code}.json")
    type: Literal["realtime"] = Field(description="realtime：提交即返回受理编号")
    keywords: str = Field(description="逗号分隔")
    group: str


class ServiceList(RootModel[list[ServiceOut]]):
    model_config = ConfigDict(json_schema_extra={"examples": [[{
        "service_code": "complaint", "service_name": "投诉", "description": "对行政执法机关或执法人员的执法行为投诉",
        "metadata": True, "type": "realtime", "keywords": "投诉,执法,态度", "group": "行政执法监督"}]]})


class AttributeValue(BaseModel):
    key: str
    name: str


class AttributeOut(BaseModel):
    variable: bool
    code: str
    datatype: Literal["string", "singlevaluelist"]
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinitionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "service_code": "complaint", "attributes": [
            {"variable": True, "code": "agency_id", "datatype": "singlevaluelist", "required": True,
             "datatype_description": "执法机关编号", "order": 1, "description": "投诉针对的（即负责处理的）执法机关",
             "values": [{"key": AGENCY, "name": "杭州市西湖区市场监督管理局"}]},
            {"variable": True, "code": "case_number", "datatype": "string", "required": False,
             "datatype_description": "该机关的案件编号", "order": 2, "description": "投诉针对该机关的某一案件时填写",
             "values": []}]}]})

    service_code: str
    attributes: list[AttributeOut]


class DiscoveryQuery(Body):
    """GeoReport clients send these on every call; the service list needs neither."""

    jurisdiction_id: ShortOpt = Field(None, description="本系统只服务一个辖区：可不填，填写也不影响结果")
    api_key: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        None, description="服务列表不需要密钥（可不填）")


class RequestForm(Body):
    """POST requests.json, ``application/x-www-form-urlencoded`` as GeoReport v2 says."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    api_key: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        None, description="对接系统密钥（integrator）；也可用请求头 Authorization: Bearer <密钥>")
    jurisdiction_id: ShortOpt = Field(None, description="可不填")
    service_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="services.json 中的 service_code")
    description: Description = Field(description="来电内容（最多 4000 字）")
    agency_id: uuid.UUID = Field(alias="attribute[agency_id]",
                                 description="投诉针对的执法机关（services/{code}.json 中的值）")
    case_number: Annotated[Annotated[str, StringConstraints(max_length=64)] | None, Opt] = Field(
        None, alias="attribute[case_number]", description="该机关的案件编号（可选）")
    decision_id: Annotated[uuid.UUID | None, Opt] = Field(
        None, alias="attribute[decision_id]", description="已公示的执法决定编号（可选；与 case_number 二选一）")
    lat: Annotated[float | None, Opt] = Field(None, ge=-90, le=90, description="纬度（只保存两位小数，约 1 公里）")
    long: Annotated[float | None, Opt] = Field(None, ge=-180, le=180, description="经度（与 lat 同时给出）")
    address_string: Annotated[Annotated[str, StringConstraints(max_length=200), AfterValidator(stripped)] | None,
                              Opt] = Field(None, description="地点文字")
    address_id: Annotated[str | None, Opt, AfterValidator(_not_supported(NO_ADDRESS_IDS))] = Field(
        None, description="不支持（请用 address_string）")
    media_url: Annotated[str | None, Opt, AfterValidator(_not_supported(NO_MEDIA_URLS))] = Field(
        None, description="不支持：服务器从不读取外部链接")
    email: Discarded = Field(None, description="接受但不保存（来电人身份由热线平台保管）")
    phone: Discarded = Field(None, description="接受但不保存")
    first_name: Discarded = Field(None, description="接受但不保存")
    last_name: Discarded = Field(None, description="接受但不保存")
    device_id: Discarded = Field(None, description="接受但不保存")
    account_id: Discarded = Field(None, description="接受但不保存")


class PostedOut(BaseModel):
    service_request_id: str = Field(description="受理编号（与小程序的 tracking_no 相同）")
    service_notice: str = Field(description="受理与答复期限")
    account_id: None = None
    query_code: str = Field(description="查询码：只返回这一次；来电人可凭受理编号和查询码在小程序查看进度、评价答复")
    leaf_index: int = Field(description="收件记录在透明日志中的叶序号（可取得包含证明）")


class PostedList(RootModel[list[PostedOut]]):
    model_config = ConfigDict(json_schema_extra={"examples": [[{
        "service_request_id": TRACKING, "service_notice": "将于 2026-12-08 前受理、2026-12-25 前答复",
        "account_id": None, "query_code": "8H2KQ4ZP", "leaf_index": 41}]]})


class RequestsQuery(Body):
    api_key: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        None, description="对接系统密钥（或请求头 Authorization: Bearer <密钥>）")
    jurisdiction_id: ShortOpt = Field(None, description="可不填")
    service_request_id: CommaList = Field(None, description="逗号分隔的受理编号（最多 100 个）；给出时忽略日期")
    service_code: CommaList = Field(None, description="逗号分隔的服务类型")
    start_date: OptTime = Field(None, description="ISO 8601，带时区；默认 end_date 前 90 天")
    end_date: OptTime = Field(None, description="ISO 8601，带时区；默认现在；范围最长 90 天")
    status: CommaList = Field(None, description="open、closed，逗号分隔")


class RequestQuery(Body):
    api_key: Annotated[str | None, StringConstraints(max_length=200)] = Field(
        None, description="对接系统密钥（或请求头 Authorization: Bearer <密钥>）")
    jurisdiction_id: ShortOpt = Field(None, description="可不填")


class RequestOut(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"] = Field(description="open：尚未答复；closed：已答复或已办结")
    status_notes: str = Field(description="当前环节；已答复时附答复（已遮蔽个人信息）")
    service_name: str
    service_code: str
    description: str = Field(description="来电内容（已遮蔽号码、邮箱、住址、姓名等个人信息）")
    agency_responsible: str
    service_notice: str = ""
    requested_datetime: datetime = Field(description="ISO 8601，北京时间（+08:00）")
    updated_datetime: datetime = Field(description="最近一个环节的时间")
    expected_datetime: datetime | None = Field(description="答复期限当日 23:59:59")
    address: str
    address_id: None = None
    zipcode: None = None
    lat: float | None
    long: float | None
    media_url: None = None
    leaf_index: int | None = Field(description="收件记录在透明日志中的叶序号")


class RequestList(RootModel[list[RequestOut]]):
    model_config = ConfigDict(json_schema_extra={"examples": [[{
        "service_request_id": TRACKING, "status": "closed", "status_notes": "已答复：已批评教育",
        "service_name": "投诉", "service_code": "complaint", "description": "执法人员态度粗暴，我的电话 [电话]",
        "agency_responsible": "杭州市西湖区市场监督管理局", "service_notice": "",
        "requested_datetime": "2026-12-04T10:00:00+08:00", "updated_datetime": "2026-12-10T15:30:00+08:00",
        "expected_datetime": "2026-12-25T23:59:59+08:00", "address": "文三路与学院路口", "address_id": None,
        "zipcode": None, "lat": 30.27, "long": 120.16, "media_url": None, "leaf_index": 41}]]})
