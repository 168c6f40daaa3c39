"""The audit trail: who changed what, when, from where. Called inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from backend.logging_setup import request_id_var
from backend.models import AuditEvent
from backend.services.scope import scoped


async def record(
    actor: str,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str,
    *,
    agency_id: uuid.UUID | None = None,
    role: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    await AuditEvent.create(
        actor=actor,
        actor_role=role,
        agency_id=agency_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
        source=request_id_var.get(),
    )


async def search(
    agency_id: uuid.UUID | None, *, target_id: str | None, action: str | None, page: int, page_size: int
) -> tuple[list[AuditEvent], int]:
    query = scoped(AuditEvent.all(), agency_id)
    if target_id:
        query = query.filter(target_id=target_id)
    if action:
        query = query.filter(action=action)
    total = await query.count()
    rows = await query.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    return rows, total
