"""The audit trail: who changed what, when, from where. Called inside the caller's transaction."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from backend.logging_setup import request_id_var
from backend.models import AuditEvent
from backend.services.scope import scoped

# Who acts in this request: (role, holder), set once the API key is known (backend.api.auth).
# Audit entries take both from here, so no call site can forget them.
acting_as: ContextVar[tuple[str, str] | None] = ContextVar("acting_as", default=None)


def who(actor: str) -> tuple[str, str]:
    """(name, role) behind an actor: the key's holder and role for a request's key, the system's
    own name for a job (``system:expiry``). Records, evidence and reviews say who through this."""
    current = acting_as.get()
    if current is not None and actor.startswith("key:"):
        return current[1][:100], current[0]
    if actor.startswith("system:"):
        return actor[:100], "system"
    return actor[:100], ""


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
    await entry(actor, action, target_type, target_id, agency_id=agency_id, role=role, data=data).save()


def entry(
    actor: str,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str,
    *,
    agency_id: uuid.UUID | None = None,
    role: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The entry ``record`` writes, not yet written (a program writes it with ``atomic.insert``)."""
    name, acting_role = who(actor)
    return AuditEvent(
        actor=actor,
        actor_role=role or acting_role,
        actor_name=name[:100],
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
