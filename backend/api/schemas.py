"""Request and response bodies shared by the agency API. Explicit allow-lists with size limits."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from backend.http.schemas import Body, Out, PageQuery, stripped, stripped_nonempty
from backend.models.enums import OfficerKind, OfficerStatus, Role

Name = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(stripped_nonempty)]
ShortText = Annotated[str, StringConstraints(max_length=100), AfterValidator(stripped)]
CertificateNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z\-]{4,32}$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(stripped_nonempty)]
Phone = Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")]
IdNumber = Annotated[str, StringConstraints(pattern=r"^\d{17}[\dX]$")]
_MONEY = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?")


def _money(value: Any) -> Decimal:
    # Money travels as a decimal string ("10000.00"): no binary fractions, one JSON type.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise ValueError("金额须为字符串，如 \"10000.00\"（最多两位小数）")
    return Decimal(value)


Money = Annotated[Decimal, PlainValidator(_money), PlainSerializer(str, return_type=str, when_used="json"),
                  WithJsonSchema({"type": "string", "pattern": "^" + _MONEY.pattern + "$",
                                  "examples": ["10000.00"], "description": "金额（元），字符串，最多两位小数"})]


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


_NOT_NULL = ("name", "categories", "region", "unit", "is_legal_reviewer", "status")


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # Omitted means unchanged: a field that may not be null documents no null default either.
    for name in _NOT_NULL:
        schema.get("properties", {}).get(name, {}).pop("default", None)


class OfficerPatch(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)

    # Omit a field to leave it as it is. Null only where the record may be empty (a certificate
    # number for auxiliary staff, private contact data); elsewhere null is a 422, never a 500.
    name: Name | SkipJsonSchema[None] = None
    certificate_no: CertificateNo | None = None
    categories: Annotated[list[Category], Field(max_length=20)] | SkipJsonSchema[None] = None
    region: ShortText | SkipJsonSchema[None] = None
    unit: ShortText | SkipJsonSchema[None] = None
    is_legal_reviewer: bool | SkipJsonSchema[None] = None
    status: OfficerStatus | SkipJsonSchema[None] = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    home_address: Annotated[str, StringConstraints(max_length=200)] | None = None

    @model_validator(mode="after")
    def _no_null_where_a_value_is_required(self) -> OfficerPatch:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} 不能为 null（不修改请省略该字段）")
        return self


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
    """Every key belongs to someone: exactly one of ``officer_id`` (an officer of this agency),
    ``person_name`` (a named staff member without an officer record) or ``system_name`` (a named
    system, e.g. the agency's case-management system). Supervisor keys are made only by the operator
    (``yangguang supervisor create``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"role": "officer", "name": "执法一队平板", "officer_id": "3f1c2a9e-5b7d-4c1e-9a2b-1d2e3f4a5b6c"},
        {"role": "reviewer", "person_name": "赵敏"},
        {"role": "officer", "system_name": "区执法办案系统"}]})

    role: Role
    name: ShortText = ""
    officer_id: uuid.UUID | None = None
    person_name: Annotated[str, StringConstraints(max_length=50), AfterValidator(stripped)] = ""
    system_name: Annotated[str, StringConstraints(max_length=100), AfterValidator(stripped)] = ""


class KeyOut(Out):
    id: uuid.UUID
    role: Role
    name: str
    officer_id: uuid.UUID | None
    person_name: str
    system_name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="完整密钥，仅在创建时返回一次")


class KeyList(BaseModel):
    items: list[KeyOut]
