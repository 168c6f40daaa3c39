"""Officers (R-D2), their credentials and the scan (亮证) record (R-C1..R-C6)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import CredentialStatus, OfficerKind, OfficerStatus, ScanChannel


class Officer(Model):
    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="officers", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    name = fields.CharField(max_length=50)
    kind = fields.CharEnumField(OfficerKind, max_length=16, default=OfficerKind.ENFORCEMENT)
    # National certificate number (执法证号); auxiliary staff have none.
    certificate_no = fields.CharField(max_length=32, null=True, unique=True)
    categories = fields.JSONField[list[Any]](default=list)  # 执法类别
    region = fields.CharField(max_length=100, default="")  # 执法区域
    unit = fields.CharField(max_length=100, default="")  # handling unit inside the agency
    is_legal_reviewer = fields.BooleanField(default=False)
    photo_path = fields.CharField(max_length=255, null=True)
    status = fields.CharEnumField(OfficerStatus, max_length=16, default=OfficerStatus.ACTIVE)
    # Private: never public, never logged (R-D2).
    id_number = fields.CharField(max_length=18, null=True)
    phone = fields.CharField(max_length=20, null=True)
    home_address = fields.CharField(max_length=200, null=True)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "officer"
        indexes = (("agency_id", "name"),)


class Credential(Model):
    id = uuid_pk()
    officer: fields.ForeignKeyRelation[Officer] = fields.ForeignKeyField(
        "models.Officer", related_name="credentials", on_delete=fields.RESTRICT
    )
    officer_id: uuid.UUID
    # The secret printed in the QR; looked up by its SHA-256 so a database read gives no card.
    token_hash = fields.CharField(max_length=64, unique=True)
    # Key id and random part of the token (base64url), so the agency can re-render the QR; the
    # MAC that completes a token needs the key in the data folder, which the database never holds.
    token_seed = fields.CharField(max_length=16, default="")
    status = fields.CharEnumField(CredentialStatus, max_length=16, default=CredentialStatus.VALID)
    valid_from = fields.DateField()
    valid_until = fields.DateField()
    status_reason = fields.TextField(default="")
    replaced_by: fields.ForeignKeyNullableRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="replaces", null=True, on_delete=fields.SET_NULL
    )
    replaced_by_id: uuid.UUID | None
    issued_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "credential"


class CredentialEvent(Model):
    """Every change of a credential, with when and who: the card's history, so a record can be checked
    against the status the card had at the moment of the step (R-R1). Each is a transparency-log leaf."""

    id = fields.BigIntField(primary_key=True)
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="events", on_delete=fields.RESTRICT
    )
    credential_id: uuid.UUID
    action = fields.CharField(max_length=24)  # issue, or an action of the CREDENTIAL table
    status_after = fields.CharEnumField(CredentialStatus, max_length=16)
    at = fields.DatetimeField()  # from the injected clock
    reason = fields.TextField(default="")
    actor = fields.CharField(max_length=64, default="")
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)

    class Meta:
        table = "credential_event"
        indexes = (("credential_id", "at"),)


class Scan(Model):
    """One scan of a credential QR. No raw IP is stored, and a location only if the citizen sent one."""

    id = fields.BigIntField(primary_key=True)
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="scans", on_delete=fields.RESTRICT
    )
    credential_id: uuid.UUID
    scanned_at = fields.DatetimeField(db_index=True)
    channel = fields.CharEnumField(ScanChannel, max_length=16)
    status_shown = fields.CharEnumField(CredentialStatus, max_length=16)
    latitude = fields.DecimalField(max_digits=6, decimal_places=2, null=True)  # ~1 km
    longitude = fields.DecimalField(max_digits=6, decimal_places=2, null=True)

    class Meta:
        table = "scan"


class Rating(Model):
    """A rating of an encounter by a citizen, seen by the supervisor and never by the agency of the officer."""

    id = uuid_pk()
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="ratings", on_delete=fields.RESTRICT
    )
    credential_id: uuid.UUID
    score = fields.SmallIntField()
    text = fields.TextField(default="")
    created_at = created_at()

    class Meta:
        table = "rating"
