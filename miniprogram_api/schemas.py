"""Bodies of the mini-program API. Public fields only ever leave (R-D2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from backend.http.schemas import Body, PageQuery
from backend.models.enums import CredentialStatus, OfficerKind

TokenStr = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PublicOfficer(BaseModel):
    id: uuid.UUID
    name: str
    kind: OfficerKind = Field(description="enforcement 执法人员；auxiliary 辅助人员（不持执法证）")
    certificate_no: str | None
    categories: list[str]
    region: str
    has_photo: bool = False


class PublicAgency(BaseModel):
    name: str
    credit_code: str
    region: str
    complaint_phone: str


class CredentialValidity(BaseModel):
    valid_from: str
    valid_until: str


class VerifyOut(BaseModel):
    status: CredentialStatus
    status_text: str
    officer: PublicOfficer
    agency: PublicAgency
    credential: CredentialValidity
    checked_at: datetime


class RatingCreate(Body):
    token: TokenStr
    score: int = Field(ge=1, le=5)
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class RatingCreated(BaseModel):
    id: uuid.UUID
    message: str


class RegisterQuery(PageQuery):
    agency: Annotated[str, StringConstraints(max_length=36)] | None = Field(
        None, description="机构 id 或统一社会信用代码")
    q: Annotated[str, StringConstraints(max_length=50)] | None = None


class RegisterEntry(BaseModel):
    id: uuid.UUID
    name: str
    kind: OfficerKind
    certificate_no: str | None
    categories: list[str]
    region: str
    agency_name: str
    agency_code: str
