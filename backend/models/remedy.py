"""Reconsiderations (行政复议) and lawsuits (行政诉讼) against a case or its decision: append-only
entries, each a leaf of the transparency log. Counted by the annual statistics (R-P6)."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, uuid_pk
from backend.models.case import Case
from backend.models.decision import Decision
from backend.models.enums import RemedyKind, RemedyOutcome


class CaseRemedy(Model):
    """One entry of a proceeding: its filing (``seq`` 1, ``proceeding_id`` its own id) or a later
    outcome (``seq`` 2, 3 …, naming the proceeding). Never updated or deleted: the proceeding's
    outcome is its last entry's."""

    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="remedies", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    # Denormalised from the case, so the statistics count an agency's year without a join.
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="remedies", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    decision: fields.ForeignKeyNullableRelation[Decision] = fields.ForeignKeyField(
        "models.Decision", related_name="remedies", null=True, on_delete=fields.RESTRICT
    )
    decision_id: uuid.UUID | None
    proceeding_id = fields.UUIDField(db_index=True)
    seq = fields.IntField()
    kind = fields.CharEnumField(RemedyKind, max_length=16)
    outcome = fields.CharEnumField(RemedyOutcome, max_length=24)
    filed_on = fields.DateField()  # 申请复议 / 起诉 (the proceeding's, repeated on every entry)
    decided_on = fields.DateField(null=True)  # the date of the outcome's document; None while pending
    authority = fields.CharField(max_length=200)  # 复议机关 or 人民法院 (an organisation: public)
    document_no = fields.CharField(max_length=100, default="")  # 复议决定书 / 判决书、裁定书文号
    note = fields.TextField(default="")  # internal only
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    recorded_at = created_at()

    class Meta:
        table = "case_remedy"
        unique_together = (("proceeding_id", "seq"),)
        indexes = (("agency_id", "filed_on"),)
