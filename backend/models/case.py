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
    RecordAccessKind,
    RecordStep,
    ServiceMethod,
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
    # The party's own say (mini-program): False keeps this party's messages off WeChat, whatever is bound.
    wechat_consent = fields.BooleanField(default=True)
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
    # 重大执法决定 (R-L1): major when the catalogue in effect matches, or flagged by hand; the reasons are
    # [{"code", "text"}] (services/review/catalogue.py).
    is_major = fields.BooleanField(default=False)
    major_reasons = fields.JSONField[list[Any]](default=list)
    major_by_catalogue = fields.BooleanField(default=False)
    major_catalogue_version = fields.IntField(null=True)
    major_by_hand = fields.BooleanField(default=False)
    major_hand_reason = fields.TextField(default="")
    # The facts the catalogue and the review gate look at.
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    measures = fields.JSONField[list[Any]](default=list)  # Measure values, sorted
    hearing_held = fields.BooleanField(default=False)
    public_interest = fields.BooleanField(default=False)  # 重大公共利益、社会影响
    complex_case = fields.BooleanField(default=False)  # 疑难复杂、涉及多个法律关系
    major_rights = fields.BooleanField(default=False)  # 直接关系当事人或第三人重大权益
    # 移送: after a review's refer outcome the case goes to another authority (R-L4).
    referred_to = fields.CharField(max_length=200, default="")
    referred_on = fields.DateField(null=True)
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
    # Opaque code the party uses to bind to their own case from the mini-program. It works once:
    # ``binding_code_used_at`` is set by the first binding (by code or by SMS), and only a new code
    # issued by the agency opens the party to a binding again (services/parties/bindings.py).
    binding_code_hash = fields.CharField(max_length=64, null=True, unique=True)
    binding_code_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "case_party"
        unique_together = (("case", "party"),)


class CaseRecord(Model):
    """One step of a case (R-R1), append-only: never updated or deleted. A mistake is corrected by a
    new record naming the one it corrects. Each record is a leaf of the transparency log (R-R4)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="records", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    seq = fields.IntField()  # 1, 2, 3 … within the case
    step = fields.CharEnumField(RecordStep, max_length=24)
    occurred_at = fields.DatetimeField()
    place = fields.CharField(max_length=200, default="")
    # [{officer_id, name, certificate_no, credential_id, credential_shown}] at the time of the step (R-R1).
    officers = fields.JSONField[list[Any]](default=list)
    text = fields.TextField(default="")
    signature = fields.CharEnumField(SignatureState, max_length=16, default=SignatureState.NOT_REQUIRED)
    signature_note = fields.TextField(default="")  # the officer's note when the party refused to sign
    service_method = fields.CharEnumField(ServiceMethod, max_length=16, null=True)
    evidence_ids = fields.JSONField[list[Any]](default=list)  # evidence this step produced or relies on
    corrects: fields.ForeignKeyNullableRelation[CaseRecord] = fields.ForeignKeyField(
        "models.CaseRecord", related_name="corrections", null=True, on_delete=fields.RESTRICT
    )
    corrects_id: int | None
    actor = fields.CharField(max_length=64, default="")  # "key:<id>" or "system:<name>"
    actor_name = fields.CharField(max_length=100, default="")  # the person (or named system) behind it
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)  # its leaf in the transparency log
    recorded_at = created_at()

    class Meta:
        table = "case_record"
        unique_together = (("case", "seq"),)


class Evidence(Model):
    """An evidence file (AV, photo, document), numbered like the case documents (R-R2), stored by its
    SHA-256 in the data folder; the hash is a leaf of the transparency log."""

    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="evidence", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    number = fields.CharField(max_length=64)  # case number + kind + sequence
    kind = fields.CharEnumField(EvidenceKind, max_length=16)
    seq = fields.IntField(default=0)  # sequence within the case and kind
    captured_at = fields.DatetimeField()
    place = fields.CharField(max_length=200, default="")
    collector_officer: fields.ForeignKeyNullableRelation[Officer] = fields.ForeignKeyField(
        "models.Officer", related_name="evidence_collected", null=True, on_delete=fields.RESTRICT
    )
    collector_officer_id: uuid.UUID | None
    proves = fields.TextField(default="")
    content_type = fields.CharField(max_length=100, default="application/octet-stream")  # from the content
    sha256 = fields.CharField(max_length=64)
    size_bytes = fields.BigIntField()
    actor = fields.CharField(max_length=64, default="")
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    created_at = created_at()

    class Meta:
        table = "evidence"
        unique_together = (("case", "number"),)


class RecordAccess(Model):
    """Every retrieval of a case's full record and every read of an evidence file, with who (R-R5)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="accesses", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    kind = fields.CharEnumField(RecordAccessKind, max_length=16, default=RecordAccessKind.FULL_RECORD)
    evidence: fields.ForeignKeyNullableRelation[Evidence] = fields.ForeignKeyField(
        "models.Evidence", related_name="reads", null=True, on_delete=fields.RESTRICT
    )
    evidence_id: uuid.UUID | None
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    accessor_agency_id = fields.UUIDField(null=True)  # the reader's agency; None for a supervisor
    accessed_at = created_at()

    class Meta:
        table = "record_access"
