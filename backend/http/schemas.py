"""Base request and response schemas of every HTTP surface: unknown fields refused, strings storable,
the error shape and pages."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    model_validator,
)

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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    # In query strings pydantic would read "0" as a Unix timestamp (1970-01-01): dates are ISO only.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("日期格式应为 YYYY-MM-DD")
    return value


QueryDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _plausible(value: datetime) -> datetime:
    # Years far outside any case cannot be stored and read back on both databases, nor converted to
    # Beijing time at the edges of Python's range (nor be true).
    if not 1990 <= value.year <= 2100:
        raise ValueError("时间不在合理范围内")
    return value


# When something happened (a step, a capture): with a time zone, within years a case can have.
EventTime = Annotated[AwareDatetime, AfterValidator(_plausible)]


def stripped(value: str) -> str:
    """Surrounding white space is dropped after the length check, so the documented maxLength holds
    for what the client sends (stripping first let a longer text through)."""
    return value.strip()


def stripped_nonempty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("不能只有空白")
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


class Open311Error(BaseModel):
    code: str = Field(description="稳定的错误码（与本系统其他接口相同）；HTTP 状态码即响应状态",
                      examples=["service_not_found"])
    description: str = Field(description="中文说明；参数校验失败时附出错的字段")


class Open311Errors(RootModel[list[Open311Error]]):
    """GeoReport v2's error list (the Open311 surface, /open311/v2/)."""

    model_config = ConfigDict(json_schema_extra={"examples": [[
        {"code": "invalid_api_key", "description": "访问密钥无效或已吊销"}]]})
