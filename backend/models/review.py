"""Legal review of major decisions (R-L1..R-L6)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.case import Case
from backend.models.enums import CaseType, PublishState, ReviewStatus


class MajorCatalogueEntry(Model):
    """重大执法决定目录清单: one rule that makes a case major."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="major_catalogue", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    case_type = fields.CharEnumField(CaseType, max_length=16, null=True)
    min_amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    requires_hearing = fields.BooleanField(default=False)
    description = fields.TextField(default="")
    state = fields.CharEnumField(PublishState, max_length=16, default=PublishState.DRAFT)
    created_at = created_at()

    class Meta:
        table = "major_catalogue_entry"


class LegalReview(Model):
    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="reviews", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    round = fields.IntField(default=1)
    status = fields.CharEnumField(ReviewStatus, max_length=24, default=ReviewStatus.SUBMITTED)
    submitted_by = fields.CharField(max_length=64)
    submitted_at = created_at()
    due_on = fields.DateField()  # 5 working days (R-L4)
    reviewer_officer_id = fields.UUIDField(null=True)
    # One answer per review point of R-L3: {point: {"ok": bool, "note": str}}.
    opinion = fields.JSONField[dict[str, Any]](default=dict)
    reasons = fields.TextField(default="")
    reviewed_at = fields.DatetimeField(null=True)
    handling_unit_objection = fields.TextField(default="")
    head_decision = fields.TextField(default="")
    head_departed_from_opinion = fields.BooleanField(null=True)  # R-L5
    updated_at = updated_at()

    class Meta:
        table = "legal_review"
