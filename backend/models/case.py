"""Parties, cases, and the hash-chained full-process record (R-R1..R-R5)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import (
    CaseOfficerRole,
    CaseStatus,
    CaseType,
    ChannelPreference,
    EvidenceKind,
    PartyKind,
    RecordStep,
    SignatureState,
)
from backend.models.officer import Officer


class Party(Model):
    """当事人: a person or an organisation. Contact data is private and never published."""

    id = uuid_pk()
    kind = fields.CharEnumField(PartyKind, max_length=16)
    name = fields.CharField(max_length=200)
    id_number = fields.CharField(max_length=32, null=True)  # ID card or credit code
    phone = fields.CharField(max_length=20, null=True)
    wechat_openid = fields.CharField(max_length=64, null=True, db_index=True)
    channel_preference = fields.CharEnumField(
        ChannelPreference, max_length=16, default=ChannelPreference.BOTH
    )
    is_minor = fields.BooleanField(default=False)  # minors are never published (R-P2)
    created_at = created_at()

    class Meta:
        table = "party"


class Case(Model):
    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="cases", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    number = fields.CharField(max_length=64)  # human case number, unique within the agency
    title = fields.CharField(max_length=200)
    type = fields.CharEnumField(CaseType, max_length=16)
    status = fields.CharEnumField(CaseStatus, max_length=16, default=CaseStatus.OPEN)
    handling_unit = fields.CharField(max_length=100, default="")
    is_major = fields.BooleanField(default=False)  # 重大执法决定 (R-L1)
    major_reasons = fields.JSONField[list[Any]](default=list)
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    hearing_held = fields.BooleanField(default=False)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "case"
        unique_together = (("agency", "number"),)


class CaseOfficer(Model):
    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="case_officers", on_delete=fields.CASCADE
    )
    case_id: uuid.UUID
    officer: fields.ForeignKeyRelation[Officer] = fields.ForeignKeyField(
        "models.Officer", related_name="case_links", on_delete=fields.RESTRICT
    )
    officer_id: uuid.UUID
    role = fields.CharEnumField(CaseOfficerRole, max_length=16, default=CaseOfficerRole.ASSISTANT)

    class Meta:
        table = "case_officer"
        unique_together = (("case", "officer"),)


class CaseParty(Model):
    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="case_parties", on_delete=fields.CASCADE
    )
    case_id: uuid.UUID
    party: fields.ForeignKeyRelation[Party] = fields.ForeignKeyField(
        "models.Party", related_name="case_links", on_delete=fields.RESTRICT
    )
    party_id: uuid.UUID
    # Opaque code the party uses to bind to their own case from the mini-program.
    binding_code_hash = fields.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table = "case_party"
        unique_together = (("case", "party"),)


class CaseRecord(Model):
    """Append-only, hash-chained record entry (R-R4): hash = H(prev_hash ‖ canonical entry)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="records", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    seq = fields.IntField()  # 1, 2, 3 … within the case
    step = fields.CharEnumField(RecordStep, max_length=24)
    occurred_at = fields.DatetimeField()
    place = fields.CharField(max_length=200, default="")
    # [{officer_id, certificate_no, credential_shown}] at the time of the step (R-R1).
    officers = fields.JSONField[list[Any]](default=list)
    text = fields.TextField(default="")
    signature = fields.CharEnumField(SignatureState, max_length=16, default=SignatureState.NOT_REQUIRED)
    signature_note = fields.TextField(default="")
    actor = fields.CharField(max_length=64, default="")  # api key id or "system"
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)
    recorded_at = created_at()

    class Meta:
        table = "case_record"
        unique_together = (("case", "seq"),)


class Evidence(Model):
    """An evidence file (AV, photo, document), numbered like the case documents (R-R2)."""

    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="evidence", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    record: fields.ForeignKeyNullableRelation[CaseRecord] = fields.ForeignKeyField(
        "models.CaseRecord", related_name="evidence", null=True, on_delete=fields.RESTRICT
    )
    record_id: int | None
    number = fields.CharField(max_length=64)
    kind = fields.CharEnumField(EvidenceKind, max_length=16)
    captured_at = fields.DatetimeField()
    place = fields.CharField(max_length=200, default="")
    collector = fields.CharField(max_length=64, default="")  # certificate number
    proves = fields.TextField(default="")
    storage_path = fields.CharField(max_length=255)
    sha256 = fields.CharField(max_length=64)
    size_bytes = fields.BigIntField()
    created_at = created_at()

    class Meta:
        table = "evidence"
        unique_together = (("case", "number"),)


class RecordAccess(Model):
    """Every supervisor retrieval of a case record is logged (R-R5)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="accesses", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    actor = fields.CharField(max_length=64)
    accessed_at = created_at()

    class Meta:
        table = "record_access"
