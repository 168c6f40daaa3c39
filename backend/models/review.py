"""Legal review of major decisions (R-L1..R-L6): the catalogue of what is major, reviews, their events."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.case import Case
from backend.models.enums import ReviewLevel, ReviewOutcome, ReviewStatus


class MajorCatalogue(Model):
    """重大执法决定目录清单: one version of an agency's catalogue, in force from ``effective_from``
    until a later version takes effect. Versions are never changed; a change is a new version."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="major_catalogues", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    version = fields.IntField()
    effective_from = fields.DateField()
    # {"case_types": [...], "amount_thresholds": [{case_type, measure, party_kind, min_amount}],
    #  "licence_revocation", "business_suspension", "hearing_held", "public_interest",
    #  "complex_case", "multi_party", "major_rights": bool} (services/review/catalogue.py)
    criteria = fields.JSONField[dict[str, Any]]()
    note = fields.TextField(default="")
    actor = fields.CharField(max_length=64, default="")
    actor_name = fields.CharField(max_length=100, default="")
    created_at = created_at()

    class Meta:
        table = "major_catalogue"
        unique_together = (("agency", "version"),)


class LegalReview(Model):
    """One round of review of one proposed decision. A correction is answered by a new round; every
    round is kept. A decision in the district government's name has a second, government-level row."""

    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="reviews", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    agency_id = fields.UUIDField(db_index=True)  # the case's agency, for scoping
    round = fields.IntField(default=1)
    level = fields.CharEnumField(ReviewLevel, max_length=16, default=ReviewLevel.AGENCY)
    status = fields.CharEnumField(ReviewStatus, max_length=24, default=ReviewStatus.SUBMITTED)
    in_government_name = fields.BooleanField(default=False)
    # The submission: {decision_type, amount, measures, summary, facts, evidence, legal_basis,
    # discretion_reasons, hearing_record, statement_record}.
    proposal = fields.JSONField[dict[str, Any]](default=dict)
    submitted_by = fields.CharField(max_length=64)
    submitted_by_name = fields.CharField(max_length=100, default="")
    submitted_by_role = fields.CharField(max_length=16, default="")
    submitted_at = fields.DatetimeField()
    due_on = fields.DateField()  # 5 working days (R-L4)
    due_on_provisional = fields.BooleanField(default=True)  # the calendar did not cover every day counted
    # The opinion (法制审核意见书).
    reviewer_officer_id = fields.UUIDField(null=True)
    reviewer_name = fields.CharField(max_length=100, default="")
    outcome = fields.CharEnumField(ReviewOutcome, max_length=16, null=True)
    # One answer per review point of R-L3: {point: {"ok": bool, "note": str}}.
    opinion = fields.JSONField[dict[str, Any]](default=dict)
    reasons = fields.TextField(default="")
    reviewed_at = fields.DatetimeField(null=True)
    referred_to = fields.CharField(max_length=200, default="")
    referred_on = fields.DateField(null=True)
    # The handling unit's disagreement, then the head's collective discussion (R-L4, R-L5).
    handling_unit_objection = fields.TextField(default="")
    disputed_by_name = fields.CharField(max_length=100, default="")
    disputed_at = fields.DatetimeField(null=True)
    head_outcome = fields.CharEnumField(ReviewOutcome, max_length=16, null=True)
    head_decision = fields.TextField(default="")
    head_minutes = fields.TextField(default="")
    head_departed_from_opinion = fields.BooleanField(null=True)
    head_name = fields.CharField(max_length=100, default="")
    head_decided_at = fields.DatetimeField(null=True)
    updated_at = updated_at()

    class Meta:
        table = "legal_review"
        unique_together = (("case", "level", "round"),)


class LegalReviewEvent(Model):
    """Every submission, opinion, dispute and head decision, as it happened: a leaf of the log."""

    id = fields.BigIntField(primary_key=True)
    review: fields.ForeignKeyRelation[LegalReview] = fields.ForeignKeyField(
        "models.LegalReview", related_name="events", on_delete=fields.RESTRICT
    )
    review_id: uuid.UUID
    case_id = fields.UUIDField()
    kind = fields.CharField(max_length=24)  # submit | opinion | dispute | head_decision
    at = fields.DatetimeField()  # from the injected clock
    data = fields.JSONField[dict[str, Any]](default=dict)
    actor = fields.CharField(max_length=64, default="")
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)

    class Meta:
        table = "legal_review_event"


class ReviewerRosterFiling(Model):
    """法制审核人员信息表 filed with the supervisor (R-L6): a snapshot of the agency's legal reviewers
    at the moment of filing, by whom. Filings are never changed; a new roster is a new filing."""

    id = fields.BigIntField(primary_key=True)
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="roster_filings", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    filed_at = fields.DatetimeField()  # from the injected clock
    enforcement_officers = fields.IntField()
    reviewers = fields.JSONField[list[Any]](default=list)  # [{officer_id, name, unit}]
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")

    class Meta:
        table = "reviewer_roster_filing"
