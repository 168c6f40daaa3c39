"""Complaints, reports and suggestions from the public (R-X1..R-X3)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import ComplaintKind, ComplaintStatus


class Complaint(Model):
    id = uuid_pk()
    tracking_no = fields.CharField(max_length=32, unique=True)
    kind = fields.CharEnumField(ComplaintKind, max_length=16)
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="complaints", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    # What it is about: at most one of these is set besides the agency.
    officer_id = fields.UUIDField(null=True)
    credential_id = fields.UUIDField(null=True)
    case_id = fields.UUIDField(null=True)
    decision_id = fields.UUIDField(null=True)
    text = fields.TextField()
    photos = fields.JSONField[list[Any]](default=list)  # storage paths, at most 9
    latitude = fields.DecimalField(max_digits=9, decimal_places=6, null=True)
    longitude = fields.DecimalField(max_digits=9, decimal_places=6, null=True)
    anonymous = fields.BooleanField(default=True)
    contact_phone = fields.CharField(max_length=20, null=True)
    wechat_openid = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.SUBMITTED)
    acknowledge_due_on = fields.DateField(null=True)
    answer_due_on = fields.DateField(null=True)
    answer = fields.TextField(default="")
    satisfaction = fields.SmallIntField(null=True)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "complaint"


class ComplaintEvent(Model):
    id = fields.BigIntField(primary_key=True)
    complaint: fields.ForeignKeyRelation[Complaint] = fields.ForeignKeyField(
        "models.Complaint", related_name="events", on_delete=fields.CASCADE
    )
    complaint_id: uuid.UUID
    status = fields.CharEnumField(ComplaintStatus, max_length=16)
    note = fields.TextField(default="")
    actor = fields.CharField(max_length=64)
    created_at = created_at()

    class Meta:
        table = "complaint_event"


class Rectification(Model):
    """An order to rectify from the supervisor, and the written answer of the agency (R-X3)."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="rectifications", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    subject = fields.TextField()
    due_on = fields.DateField()
    answer = fields.TextField(default="")
    answered_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "rectification"
