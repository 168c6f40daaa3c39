"""Bodies of the mini-program API. Public fields only ever leave (R-D2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from backend.http.schemas import Body, PageQuery, stripped
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
    text: Annotated[str, StringConstraints(max_length=500), AfterValidator(stripped)] = ""


class RatingForm(Body):
    """The H5 page's rating form (application/x-www-form-urlencoded, UTF-8)."""

    score: int = Field(ge=1, le=5, description="1–5 分")
    text: Annotated[str, StringConstraints(max_length=500), AfterValidator(stripped)] = ""


class RatingCreated(BaseModel):
    id: uuid.UUID
    message: str


# An agency is named by its id (a canonical UUID) or its 18-character 统一社会信用代码; nothing else
# can match one, so anything else is refused here instead of reaching a column it does not fit.
AGENCY_REF = r"^([0-9A-Za-z]{18}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"


class RegisterQuery(PageQuery):
    agency: Annotated[str, StringConstraints(pattern=AGENCY_REF)] | None = Field(
        None, description="机构 id（UUID）或 18 位统一社会信用代码")
    q: Annotated[str, StringConstraints(max_length=50)] | None = Field(
        None, description="姓名片段或完整执法证号（与姓名列同长，最多 50 字）")


class RegisterEntry(BaseModel):
    id: uuid.UUID
    name: str
    kind: OfficerKind
    certificate_no: str | None
    categories: list[str]
    region: str
    agency_name: str
    agency_code: str
