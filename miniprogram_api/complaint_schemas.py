"""Bodies of the public complaint routes (R-X1): uploads, phone codes, filing, following, rating."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.http.schemas import Body, stripped, stripped_nonempty
from backend.models.enums import ComplaintAbout, ComplaintKind, ComplaintStatus

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(stripped_nonempty)]
Address = Annotated[str, StringConstraints(max_length=200), AfterValidator(stripped)]
Phone = Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")]
SmsCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Comment = Annotated[str, StringConstraints(max_length=500), AfterValidator(stripped)]
TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz0123"
TRACKING = "T261204-7K3M-9Q2X"
# What each kind of subject needs, and nothing else.
NEEDS: dict[ComplaintAbout, set[str]] = {
    ComplaintAbout.OFFICER: {"officer_token"}, ComplaintAbout.AGENCY: {"agency_id"},
    ComplaintAbout.CASE: {"agency_id", "case_number"}, ComplaintAbout.DECISION: {"decision_id"},
}


class UploadOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "upload_id": "7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21", "width": 2048, "height": 1536, "bytes": 412345,
        "expires_in": 86400}]})

    upload_id: uuid.UUID = Field(description="不透明的照片编号，提交投诉时在 upload_ids 中引用（24 小时内、仅一次）")
    width: int
    height: int
    bytes: int = Field(description="重新编码后的 JPEG 大小")
    expires_in: int = Field(description="秒：超过后未被投诉引用的照片不再接受")


class UploadParts(BaseModel):
    """multipart/form-data (wx.uploadFile, name="file"), or the image itself as the body with
    Content-Type image/jpeg, image/png, image/heic or image/heif."""

    file: bytes = Field(description="JPEG、PNG 或 HEIC 照片，不超过 10 MiB、5000 万像素", json_schema_extra={
        "format": "binary"})


class AboutIn(Body):
    """What the complaint is about: exactly the fields its type needs."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "officer", "officer_token": TOKEN},
        {"type": "agency", "agency_id": "dac1024f-dc36-48ce-9802-3b5c437b000b"},
        {"type": "case", "agency_id": "dac1024f-dc36-48ce-9802-3b5c437b000b", "case_number": "2026-3F2A91C0"},
        {"type": "decision", "decision_id": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"}]})

    type: ComplaintAbout = Field(description="officer 执法人员（扫码所得的证件令牌）；agency 执法机关；case 案件；"
                                             "decision 已公示的执法决定")
    officer_token: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="执法证二维码中的令牌（/v/{token} 的 token）")
    agency_id: uuid.UUID | None = None
    case_number: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    decision_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly(self) -> AboutIn:
        given = {k for k in ("officer_token", "agency_id", "case_number", "decision_id")
                 if getattr(self, k) is not None}
        if given != NEEDS[self.type]:
            raise ValueError(f"type={self.type.value} 须且只须给出：{'、'.join(sorted(NEEDS[self.type]))}")
        return self


class LocationIn(Body):
    latitude: float = Field(ge=-90, le=90, description="纬度（只保存两位小数，约 1 公里）")
    longitude: float = Field(ge=-180, le=180)
    address: Address = Field("", description="地点文字，如“文三路与学院路口”")


class NamedIn(Body):
    phone: Phone
    verification_id: uuid.UUID = Field(description="POST /mp/v1/phone-codes 的回答")
    code: SmsCode = Field(description="短信中的 6 位验证码")


class PhoneCodeIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "phone": "13800138000", "about": {"type": "officer", "officer_token": TOKEN}}]})

    phone: Phone
    about: AboutIn = Field(description="与投诉相同：验证码短信以处理该投诉的机关名义发送")


class PhoneCodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "verification_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "expires_in": 600, "resend_after": 60}]})

    verification_id: uuid.UUID
    expires_in: int
    resend_after: int


class ComplaintIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "complaint", "about": {"type": "officer", "officer_token": TOKEN},
        "text": "今天上午执法时未出示证件，态度粗暴。", "upload_ids": ["7a1d2b63-7b5f-4054-8e4f-1e4d2c8a0b21"],
        "location": {"latitude": 30.27, "longitude": 120.16, "address": "文三路与学院路口"},
        "named": {"phone": "13800138000", "verification_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                  "code": "123456"}}]})

    kind: ComplaintKind = Field(description="complaint 投诉；report 举报；suggestion 建议")
    about: AboutIn
    text: Text
    upload_ids: list[uuid.UUID] = Field(default_factory=list, max_length=9, description="最多 9 张照片")
    location: LocationIn | None = None
    named: NamedIn | None = Field(None, description=(
        "实名：经短信验证码验证的手机号。带小程序会话令牌（Authorization: Bearer）提交时无需短信验证码，"
        "即以登录的微信用户本人实名；两者都没有即匿名"))


class ComplaintReceiptOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "tracking_no": TRACKING, "query_code": "8H2KQ4ZP", "leaf_index": 41, "status": "submitted",
        "acknowledge_due_on": "2026-12-08", "answer_due_on": "2026-12-25", "anonymous": False}]})

    tracking_no: str = Field(description="受理编号")
    query_code: str = Field(description="查询码：只显示这一次，凭受理编号和查询码查看进度、评价答复")
    leaf_index: int = Field(description="收件记录在透明日志中的叶序号：可据此取得包含证明，证明投诉已被收到")
    status: ComplaintStatus
    acknowledge_due_on: date
    answer_due_on: date
    anonymous: bool


class PublicStepOut(BaseModel):
    action: str = Field(description="submit、acknowledge、handle、answer、rate、escalate、close")
    text: str = Field(description="该环节的中文说明")
    at: datetime
    leaf_index: int | None
    answer: str = Field(description="答复原文（action=answer），其他环节为空")


class ComplaintStatusOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "tracking_no": TRACKING, "kind": "complaint", "status": "answered", "status_text": "已答复",
        "agency_name": "杭州市西湖区市场监督管理局", "submitted_at": "2026-12-04T10:00:00+08:00",
        "acknowledge_due_on": "2026-12-08", "answer_due_on": "2026-12-25", "answer": "已批评教育",
        "can_rate": True, "satisfaction": None,
        "steps": [{"action": "submit", "text": "已收到", "at": "2026-12-04T10:00:00+08:00", "leaf_index": 41,
                   "answer": ""}]}]})

    tracking_no: str
    kind: ComplaintKind
    status: ComplaintStatus
    status_text: str
    agency_name: str
    submitted_at: datetime
    acknowledge_due_on: date | None
    answer_due_on: date | None
    answer: str
    can_rate: bool
    satisfaction: int | None
    steps: list[PublicStepOut]


class MyComplaintOut(BaseModel):
    tracking_no: str
    kind: ComplaintKind
    status: ComplaintStatus
    status_text: str
    agency_name: str
    submitted_at: datetime
    answer_due_on: date | None
    can_rate: bool = Field(description="已答复、待评价（评价仍凭受理编号和查询码："
                                       "POST /mp/v1/complaints/{tracking_no}/rating）")


class MyComplaintPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "tracking_no": TRACKING, "kind": "complaint", "status": "acknowledged", "status_text": "已受理",
        "agency_name": "杭州市西湖区市场监督管理局", "submitted_at": "2026-12-04T10:00:00+08:00",
        "answer_due_on": "2026-12-25", "can_rate": False}]}]})

    items: list[MyComplaintOut]


class RatingIn(Body):
    score: int = Field(ge=1, le=5, description="1–5 分；≥ 3 办结，≤ 2 立即转执法监督机构督办")
    comment: Comment = ""


class ProofQuery(Body):
    leaf_index: int | None = Field(None, ge=0, description="该投诉的某一环节的叶序号；不填为收件记录")


class ProofOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "leaf_index": 41, "tree_size": 64, "signed": True,
        "leaf_hash": "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "root_hash": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        "audit_path": ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
        "entry": {"agency_id": "dac1024f-dc36-48ce-9802-3b5c437b000b", "index": 41, "kind": "complaint",
                  "ref": "complaint:5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "data": {"type": "complaint"}},
        "salt": "9f86d081884c7d659a2feaa0c55ad015"}]})

    leaf_index: int
    tree_size: int = Field(description="证明所对的树大小：已签名的最新检查点（signed=true）或当前大小")
    signed: bool = Field(description="true：tree_size 即 /log/checkpoint 签名检查点的大小，可对照其根验证")
    leaf_hash: str
    root_hash: str
    audit_path: list[str]
    entry: dict[str, Any] = Field(description="被哈希的条目：SHA-256(0x00 ‖ RFC 8785(entry)) = leaf_hash")
    salt: str = Field(description="条目中文字摘要的盐：text_digest = SHA-256(salt ‖ 0x00 ‖ 投诉内容)")


class H5ComplaintForm(Body):
    """The verify page's form (application/x-www-form-urlencoded, UTF-8, no JavaScript)."""

    kind: Literal["complaint", "report", "suggestion"] = Field(
        description="complaint 投诉；report 举报；suggestion 建议")
    text: Text
    address: Address = ""
