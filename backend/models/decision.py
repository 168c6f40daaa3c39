"""Decisions and their public versions (R-P1..R-P5). Nothing is deleted: every correction and
withdrawal is a new version (R-P3)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.case import Case
from backend.models.enums import CaseType, DecisionStatus, DecisionVersionKind, RevocationReason


class Decision(Model):
    id = uuid_pk()
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="decisions", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    # Denormalised for the public search (R-P5): agency, type and date without joins.
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="decisions", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    type = fields.CharEnumField(CaseType, max_length=16)
    document_no = fields.CharField(max_length=100)
    summary = fields.TextField()
    # What the decision imposes, compared with what the legal review approved (R-L2).
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    measures = fields.JSONField[list[Any]](default=list)
    review_id = fields.UUIDField(null=True)  # the approved review the gate accepted, for a major case
    decided_at = fields.DateField()
    status = fields.CharEnumField(DecisionStatus, max_length=16, default=DecisionStatus.DRAFT)
    # The clocks (services/clocks.py): 7 or 20 working days after decided_at (R-P1); 3 working days
    # after a revocation (R-P3). Provisional: the calendar did not cover every day counted yet.
    publish_due_on = fields.DateField(null=True)
    publish_due_on_provisional = fields.BooleanField(default=False)
    withdraw_due_on = fields.DateField(null=True)
    withdraw_due_on_provisional = fields.BooleanField(default=False)
    # The last day of the publication period (the maximum for its type, from the day it was published).
    publication_ends_on = fields.DateField(null=True)
    published_at = fields.DatetimeField(null=True)
    public_party_name = fields.CharField(max_length=200, default="", db_index=True)  # masked
    current_version = fields.IntField(default=0)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "decision"
        unique_together = (("agency", "document_no"),)
        indexes = (("agency_id", "type", "decided_at"), ("status", "decided_at"))


class DecisionVersion(Model):
    id = uuid_pk()
    decision: fields.ForeignKeyRelation[Decision] = fields.ForeignKeyField(
        "models.Decision", related_name="versions", on_delete=fields.RESTRICT
    )
    decision_id: uuid.UUID
    version = fields.IntField()
    kind = fields.CharEnumField(DecisionVersionKind, max_length=16)
    public_text = fields.TextField()  # masked text as the public sees it
    reason = fields.TextField(default="")
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")  # the person (or named system) behind it
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)  # the event's leaf in the transparency log
    created_at = created_at()

    class Meta:
        table = "decision_version"
        unique_together = (("decision", "version"),)


class DecisionRevocation(Model):
    """A published decision revoked, confirmed illegal or ordered remade (R-P3): it must leave public
    view within 3 working days of ``revoked_on``. One per decision; never changed."""

    id = uuid_pk()
    decision: fields.OneToOneRelation[Decision] = fields.OneToOneField(
        "models.Decision", related_name="revocation", on_delete=fields.RESTRICT
    )
    decision_id: uuid.UUID
    reason = fields.CharEnumField(RevocationReason, max_length=24)
    revoked_on = fields.DateField()  # the date of the revoking act (judgment, reconsideration, own decision)
    basis = fields.CharField(max_length=500, default="")  # e.g. the reconsideration decision's number
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    created_at = created_at()

    class Meta:
        table = "decision_revocation"


class DecisionSearch(Model):
    """The public search index (``services/search.py``): one row per decision in public view, with
    only what the public may see, kept in step by every decision event in its own transaction. It is
    an index, not a record: a decision that leaves public view (withdrawn, its period ended) loses its
    row here while its versions stay. The organisation names (normalised) and their bigrams are what
    ``party`` searches; natural persons' names are never stored here. PostgreSQL indexes the bigrams
    with GIN (without a pending list since migration 0018), SQLite with an FTS5 table kept by triggers
    (migration 0013); its bigrams are also rows of ``DecisionSearchGram`` (migration 0020), for
    two-character queries."""

    id = fields.BigIntField(primary_key=True)  # the FTS5 rowid on SQLite
    decision: fields.OneToOneRelation[Decision] = fields.OneToOneField(
        "models.Decision", related_name="search_row", on_delete=fields.RESTRICT
    )
    decision_id: uuid.UUID
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="search_rows", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    type = fields.CharEnumField(CaseType, max_length=16)
    document_no = fields.CharField(max_length=100)
    decided_at = fields.DateField()
    status = fields.CharEnumField(DecisionStatus, max_length=16)  # published or corrected
    version = fields.IntField()  # the latest version shown
    published_at = fields.DatetimeField()
    corrected_at = fields.DatetimeField(null=True)  # the latest correction, if any
    party = fields.CharField(max_length=200)  # Decision.public_party_name: masked
    public_text = fields.TextField()  # the latest version's masked text
    org_names = fields.TextField(default="")  # the organisation parties' names, normalised, one a line
    party_grams = fields.TextField(default="")  # their bigrams, space-separated (the indexed column)

    class Meta:
        table = "decision_search"
        indexes = (("decided_at", "decision_id"), ("agency_id", "decided_at", "decision_id"),
                   ("type", "decided_at", "decision_id"), ("document_no",))


class DecisionSearchGram(Model):
    """One bigram of the searchable names of one decision in public view (``services/search.py``):
    a row per distinct gram of ``DecisionSearch.party_grams``, with the decision's date, so that a
    gram's decisions come newest first from the btree (gram, decided_at, decision_id) and a page of a
    two-character query stops after the page's rows instead of sorting every match (the GIN index
    gives a gram's matches in no date order). Written only by ``search.sync``, in the decision
    event's transaction, exactly from the search row: gone with it."""

    id = fields.BigIntField(primary_key=True)
    decided_at = fields.DateField()  # DecisionSearch.decided_at: the page order
    gram = fields.CharField(max_length=2)
    decision: fields.ForeignKeyRelation[Decision] = fields.ForeignKeyField(
        "models.Decision", related_name="search_grams", on_delete=fields.RESTRICT
    )
    decision_id: uuid.UUID

    class Meta:
        table = "decision_search_gram"
        # The one index the search reads (backwards: newest first); also how sync finds a row.
        unique_together = (("gram", "decided_at", "decision_id"),)
