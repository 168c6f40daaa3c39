"""The audit trail, readable by an agency's administrator (its own) and by supervisors (all)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from backend.http.routing import Call, RouteTable
from backend.http.schemas import Out, Page, PageQuery
from backend.models.enums import Role
from backend.services import audit

routes = RouteTable("/api/v1")


class AuditQuery(PageQuery):
    target_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    action: Annotated[str, StringConstraints(max_length=64)] | None = None
    agency_id: uuid.UUID | None = Field(None, description="仅监督机构可用")


class AuditOut(Out):
    at: datetime
    actor: str
    actor_role: str
    agency_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    source: str = Field(description="请求编号")


@routes.route("GET", "/audit", access={Role.ADMIN, Role.SUPERVISOR}, summary="审计记录（谁、何时、做了什么）",
              tag="audit", query=AuditQuery, response=Page[AuditOut])
async def list_audit(call: Call[None, AuditQuery]) -> BaseModel:
    q = call.query
    scope = q.agency_id if call.principal.is_supervisor else call.principal.agency_id
    rows, total = await audit.search(scope, target_id=q.target_id, action=q.action,
                                     page=q.page, page_size=q.page_size)
    return Page[AuditOut](items=[AuditOut.model_validate(r) for r in rows], page=q.page,
                          page_size=q.page_size, total=total)
