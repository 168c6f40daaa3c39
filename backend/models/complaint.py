"""Complaints, reports and suggestions from the public (R-X1, R-X2), and the supervisor's orders to
rectify (R-X3)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import ComplaintAbout, ComplaintKind, ComplaintStatus, RectificationStatus


class Complaint(Model):
    """One complaint, report or suggestion (services/complaints). Written once at intake with its leaf
    (``leaf_index``); afterwards only its status, dates, answer and rating change, each step being a
    ComplaintEvent with its own leaf."""

    id = uuid_pk()
    tracking_no = fields.CharField(max_length=32, unique=True)
    kind = fields.CharEnumField(ComplaintKind, max_length=16)
    about = fields.CharEnumField(ComplaintAbout, max_length=16, default=ComplaintAbout.AGENCY)
    channel = fields.CharField(max_length=16, default="miniprogram")  # miniprogram | h5 | open311
    # The integrator key (Role.INTEGRATOR, a named system) that filed it through Open311; an
    # integrator reads back only what its system filed (services/complaints/open311.py).
    filed_by_key_id = fields.UUIDField(null=True, db_index=True)
    # SHA-256 of the complainant's query code (the code itself is shown once, on the receipt).
    query_code_hash = fields.CharField(max_length=64, default="")
    # Random salt of the leaf's digests of the text and address: the log commits to them without
    # letting a reader of the log (an agency's officer) recover a short text by guessing.
    salt = fields.CharField(max_length=32, default="")
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
    # Coarse: rounded to 2 decimals (about 1 km) before they are stored.
    latitude = fields.DecimalField(max_digits=9, decimal_places=6, null=True)
    longitude = fields.DecimalField(max_digits=9, decimal_places=6, null=True)
    address = fields.CharField(max_length=200, default="")
    anonymous = fields.BooleanField(default=True)
    # Identity: seen only by the handling agency's admins and the supervisor (never an officer).
    contact_phone = fields.CharField(max_length=20, null=True)  # set only once verified by an SMS code
    wechat_openid = fields.CharField(max_length=64, null=True, db_index=True)  # GET /mp/v1/me/complaints reads by it
    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.SUBMITTED)
    submitted_at = fields.DatetimeField(null=True)  # the injected clock's time of intake
    acknowledge_due_on = fields.DateField(null=True)
    answer_due_on = fields.DateField(null=True)
    # The limits the complaint was given (working days) and whether a day counted was not on an
    # official schedule yet: `calendar load` recomputes such dates (services/clocks.py).
    acknowledge_days = fields.SmallIntField(null=True)
    answer_days = fields.SmallIntField(null=True)
    due_on_provisional = fields.BooleanField(default=False)
    acknowledged_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    # overdue_acknowledge | overdue_answer | unsatisfied
    escalation_reason = fields.CharField(max_length=32, default="")
    answer = fields.TextField(default="")
    satisfaction = fields.SmallIntField(null=True)
    leaf_index = fields.BigIntField(null=True, unique=True)  # the intake's leaf in the transparency log
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
    action = fields.CharField(max_length=16, default="")  # a COMPLAINT action, or "rate"
    status = fields.CharEnumField(ComplaintStatus, max_length=16)  # the status after the step
    note = fields.TextField(default="")
    data = fields.JSONField[dict[str, Any]](default=dict)
    at = fields.DatetimeField(null=True)
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    created_at = created_at()

    class Meta:
        table = "complaint_event"


class ComplaintUpload(Model):
    """A complainant's photo, decoded and re-encoded before it is stored. Its id is the opaque
    upload id a complaint names, and a complaint claims it once."""

    id = uuid_pk()
    sha256 = fields.CharField(max_length=64)  # of the re-encoded JPEG that is stored
    size_bytes = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    source_format = fields.CharField(max_length=8)  # JPEG | PNG | HEIF
    uploaded_at = fields.DatetimeField()
    complaint_id = fields.UUIDField(null=True, db_index=True)
    created_at = created_at()

    class Meta:
        table = "complaint_upload"


class PhoneVerification(Model):
    """An SMS code sent to a complainant's phone, hashed here (the code travels in its outbox row)."""

    id = uuid_pk()
    phone = fields.CharField(max_length=20)
    code_hash = fields.CharField(max_length=64)
    requested_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    verified_at = fields.DatetimeField(null=True)
    used_by = fields.UUIDField(null=True)  # the complaint it named
    created_at = created_at()

    class Meta:
        table = "phone_verification"
        indexes = (("phone", "requested_at"),)


class Rectification(Model):
    """An order to rectify from the supervising body, and the agency's written answers (R-X3;
    services/supervision/rectifications.py). Texts are stored masked (services/masking.py); each
    step, the order included, is a RectificationEvent with its own leaf."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="rectifications", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    # The supervising body whose key ordered it (the agency's own: Agency.supervised_by).
    ordered_by_agency: fields.ForeignKeyNullableRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="rectifications_ordered", null=True, on_delete=fields.RESTRICT
    )
    ordered_by_agency_id: uuid.UUID | None
    subject = fields.TextField()  # what to rectify, masked
    due_on = fields.DateField()
    status = fields.CharEnumField(RectificationStatus, max_length=16, default=RectificationStatus.ORDERED)
    case_id = fields.UUIDField(null=True)  # optional link: a case of the agency
    complaint_id = fields.UUIDField(null=True)  # optional link: a complaint the agency handles
    # Random salt of the leaves' text digests: the log commits to the texts without letting a reader
    # of the log recover a short text by guessing (as for complaints).
    salt = fields.CharField(max_length=32, default="")
    ordered_at = fields.DatetimeField(null=True)
    ordered_by_name = fields.CharField(max_length=100, default="")
    answer = fields.TextField(default="")  # the latest written answer, masked
    answer_evidence_id = fields.UUIDField(null=True)  # the document of the latest answer, if any
    answered_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)  # accepted
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "rectification"
        indexes = (("status", "due_on"), ("agency_id", "status"))


class RectificationEvent(Model):
    """One step of a rectification (order, answer, accept, return, escalate), append-only."""

    id = fields.BigIntField(primary_key=True)
    rectification: fields.ForeignKeyRelation[Rectification] = fields.ForeignKeyField(
        "models.Rectification", related_name="events", on_delete=fields.RESTRICT
    )
    rectification_id: uuid.UUID
    action = fields.CharField(max_length=16)  # "order" or a RECTIFICATION action
    status = fields.CharEnumField(RectificationStatus, max_length=16)  # the status after the step
    text = fields.TextField(default="")  # the order, the answer or the reason, masked
    data = fields.JSONField[dict[str, Any]](default=dict)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    created_at = created_at()

    class Meta:
        table = "rectification_event"
