"""The public officer register: who may enforce today, public fields only."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from tortoise.expressions import Q, Subquery

from backend.models import Agency, Officer
from backend.models.enums import OfficerKind, OfficerStatus
from backend.services.disclosure.status import C
from backend.services.officers import search_filter

log = logging.getLogger("yangguang.credentials")


# --- public register -------------------------------------------------------------------------------


async def public_register(agency: str | None, q: str | None, *, today: date, page: int,
                          page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Public fields only, of the people who may take part in enforcement today: officers holding a
    card valid today, and auxiliary staff (listed as such, with no certificate)."""
    may_enforce = Officer.filter(credentials__status=C.VALID, credentials__valid_from__lte=today,
                                 credentials__valid_until__gte=today).values_list("id", flat=True)
    query = Officer.filter(Q(status=OfficerStatus.ACTIVE)
                           & (Q(kind=OfficerKind.AUXILIARY) | Q(id__in=Subquery(may_enforce))))
    if agency:
        try:
            agency_filter = Q(agency_id=uuid.UUID(agency))
        except ValueError:
            agency_filter = Q(agency__credit_code=agency.upper())
        query = query.filter(agency_filter)
    if q:
        query = query.filter(search_filter(q))
    total = await query.count()
    rows = await query.order_by("name", "id").offset((page - 1) * page_size).limit(page_size).values(
        "id", "name", "kind", "certificate_no", "categories", "region", agency_name="agency__name",
        agency_code="agency__credit_code")
    return rows, total


async def agency_by_code(code: str) -> Agency | None:
    return await Agency.filter(credit_code=code.upper()).first()
