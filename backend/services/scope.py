"""The one agency-isolation rule: an agency sees only its own rows; agency_id None is the
supervisor's view of every agency."""

from __future__ import annotations

import uuid
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from backend.errors import NotFound

M = TypeVar("M", bound=Model)


def scoped(query: QuerySet[M], agency_id: uuid.UUID | None, field: str = "agency_id") -> QuerySet[M]:
    return query if agency_id is None else query.filter(**{field: agency_id})


async def visible_one(query: QuerySet[M], agency_id: uuid.UUID | None, not_found: NotFound,
                      field: str = "agency_id") -> M:
    """The row if the caller's agency may see it; otherwise not found (never "forbidden", which
    would tell an agency that another agency's id exists)."""
    row = await scoped(query, agency_id, field).first()
    if row is None:
        raise not_found
    return row
