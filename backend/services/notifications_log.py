"""Reading the notification log: what the agency (API) and operators (CLI) see (R-N3)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from backend.models import DeliveryReceipt, Notification


async def for_case(case_id: uuid.UUID, *, page: int = 1, page_size: int = 50
                   ) -> tuple[list[Notification], dict[uuid.UUID, list[DeliveryReceipt]], int]:
    query = Notification.filter(case_id=case_id)
    total = await query.count()
    rows = await query.order_by("created_at", "id").offset((page - 1) * page_size).limit(page_size)
    receipts: dict[uuid.UUID, list[DeliveryReceipt]] = defaultdict(list)
    if rows:
        for r in await DeliveryReceipt.filter(notification_id__in=[n.id for n in rows]).order_by("id"):
            receipts[r.notification_id].append(r)
    return rows, receipts, total


async def recent(limit: int = 50, case_id: uuid.UUID | None = None) -> list[Notification]:
    query = Notification.all()
    if case_id is not None:
        query = query.filter(case_id=case_id)
    return await query.order_by("-created_at").limit(limit)
