"""Audit trail: every change of state, who, when, what, from where."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.base import created_at


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = created_at()
    actor = fields.CharField(max_length=64)  # api key id, "cli", "system", "public"
    actor_role = fields.CharField(max_length=16, default="")
    actor_name = fields.CharField(max_length=100, default="")  # the person or system the key belongs to
    agency_id = fields.UUIDField(null=True, db_index=True)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64, db_index=True)
    data = fields.JSONField[dict[str, Any]](default=dict)
    source = fields.CharField(max_length=64, default="")  # request id; never a raw IP

    class Meta:
        table = "audit_event"
