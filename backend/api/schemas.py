"""Request and response bodies shared by the agency API. Explicit allow-lists with size limits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.models.enums import OfficerKind, OfficerStatus, Role

T = TypeVar("T")


def _reject_unstorable(value: Any) -> Any:
    # NUL and lone surrogates cannot be stored in PostgreSQL text; refuse them at the door.
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("包含不允许的字符")
    elif isinstance(value, list):
        for item in value:
            _reject_unstorable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_unstorable(key)
            _reject_unstorable(item)
    return value


class Body(BaseModel):
    """Base of every request body and query: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    # After validation, so pydantic's strict JSON mode still parses dates and UUIDs from strings.
    @model_validator(mode="after")
    def _storable(self) -> Body:
        for name in type(self).model_fields:
            _reject_unstorable(getattr(self, name))
        return self


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
CertificateNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z\-]{4,32}$")]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Phone = Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")]
IdNumber = Annotated[str, StringConstraints(pattern=r"^\d{17}[\dX]$")]


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误码，供程序判断", examples=["not_found"])
    message: str = Field(description="中文说明，供人阅读")
    details: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class PageQuery(Body):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


class OfficerCreate(Body):
    name: Name
    kind: OfficerKind = OfficerKind.ENFORCEMENT
    certificate_no: CertificateNo | None = None
    categories: list[Category] = Field(default_factory=list, max_length=20)
    region: ShortText = ""
    unit: ShortText = ""
    is_legal_reviewer: bool = False
    id_number: IdNumber | None = None
    phone: Phone | None = None
    home_address: Annotated[str, StringConstraints(max_length=200)] | None = None


class OfficerPatch(Body):
    name: Name | None = None
    certificate_no: CertificateNo | None = None
    categories: list[Category] | None = Field(None, max_length=20)
    region: ShortText | None = None
    unit: ShortText | None = None
    is_legal_reviewer: bool | None = None
    status: OfficerStatus | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    home_address: Annotated[str, StringConstraints(max_length=200)] | None = None


class OfficerPrivate(Out):
    id_number: str | None
    phone: str | None
    home_address: str | None


class OfficerOut(Out):
    id: uuid.UUID
    agency_id: uuid.UUID
    name: str
    kind: OfficerKind
    certificate_no: str | None
    categories: list[str]
    region: str
    unit: str
    is_legal_reviewer: bool
    status: OfficerStatus
    created_at: datetime
    updated_at: datetime
    private: OfficerPrivate | None = Field(None, description="仅机构管理员可见")


class OfficerQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=50)] | None = None
    agency_id: uuid.UUID | None = Field(None, description="仅监督机构可用")


class KeyCreate(Body):
    role: Role
    name: ShortText = ""


class KeyOut(Out):
    id: uuid.UUID
    role: Role
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="完整密钥，仅在创建时返回一次")


class KeyList(BaseModel):
    items: list[KeyOut]
