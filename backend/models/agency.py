"""Agencies and their API keys. Their disclosure registers (R-D1, R-D3, R-D4): models/register.py."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import AgencyKind, Role

if TYPE_CHECKING:
    from backend.models.officer import Officer


class Agency(Model):
    id = uuid_pk()
    name = fields.CharField(max_length=200)
    credit_code = fields.CharField(max_length=18, unique=True)  # 统一社会信用代码
    kind = fields.CharEnumField(AgencyKind, max_length=16, default=AgencyKind.AGENCY)
    region = fields.CharField(max_length=100, default="")
    # What the agency discloses about itself (R-D1: legal basis, funding, staffing, duties, legal
    # representative, address, complaint phone) lives only in its register (kind AGENCY), versioned
    # and reviewed; entrusted organisations' agreements in theirs (ENTRUSTED_ORG).
    entrusted_by: fields.ForeignKeyNullableRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="entrusted", null=True, on_delete=fields.RESTRICT
    )
    entrusted_by_id: uuid.UUID | None
    # The agency's own supervising body (a SUPERVISOR agency): the government's 执法监督机构 at the
    # agency's level. It alone gives the government-level legal review, orders rectification and
    # receives an overdue rectification as the government level (services/supervision).
    supervised_by: fields.ForeignKeyNullableRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="supervised", null=True, on_delete=fields.RESTRICT
    )
    supervised_by_id: uuid.UUID | None
    # Legal reviewers must be at least this share of enforcement officers (R-L6); None: settings default.
    reviewer_ratio_percent = fields.IntField(null=True)
    # Working days to acknowledge and to answer a complaint (R-X2); None: the defaults (2 and 15).
    complaint_acknowledge_days = fields.IntField(null=True)
    complaint_answer_days = fields.IntField(null=True)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "agency"


class ApiKey(Model):
    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="api_keys", on_delete=fields.CASCADE
    )
    agency_id: uuid.UUID
    role = fields.CharEnumField(Role, max_length=16)
    name = fields.CharField(max_length=100, default="")  # a label, e.g. "执法一队平板"
    # Whose key it is: exactly one of an officer of the agency, a named staff member, a named system.
    officer: fields.ForeignKeyNullableRelation[Officer] = fields.ForeignKeyField(
        "models.Officer", related_name="api_keys", null=True, on_delete=fields.RESTRICT
    )
    officer_id: uuid.UUID | None
    person_name = fields.CharField(max_length=50, default="")
    system_name = fields.CharField(max_length=100, default="")
    # Only the SHA-256 of the key is stored; the prefix lets people tell keys apart.
    key_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = created_at()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
