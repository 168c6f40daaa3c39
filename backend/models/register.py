"""The disclosure registers of an agency (事前公开, R-D1, R-D3, R-D4): an item per thing disclosed,
its versions (append-only: a change is a new version with the date it takes effect, a retirement too)
and each step of a version (proposed, submitted, reviewed, published, superseded), each a leaf of
the transparency log. Rules: ``backend/services/registers``."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, uuid_pk
from backend.models.enums import PublishState, RegisterKind


class RegisterItem(Model):
    """One thing an agency discloses: itself, an entrusted organisation, a power, a random-inspection
    item, a service guide or a flowchart. Its content lives in its versions (数据同源)."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="register_items", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    kind = fields.CharEnumField(RegisterKind, max_length=32)
    code = fields.CharField(max_length=64)  # the agency's own stable code (the credit code of an entrusted org)
    created_at = created_at()

    class Meta:
        table = "register_item"
        unique_together = (("agency", "kind", "code"),)


class RegisterVersion(Model):
    """One version of an item. Its content and effective date never change, only its state moves
    (REGISTER_ITEM table). ``changed_on`` is the day the change this version carries was first made
    (the earliest version since the last public one), and ``publish_due_on`` 20 working days after
    it (services/clocks.py): starting again with a new version does not restart the clock.

    A *retirement* (``retirement``) is a version that takes the item off the public register from its
    effective date (a power abolished, an agreement ended, a guide withdrawn): reviewed and published
    like any change, with its reason and no content; the versions before it stay in the history."""

    id = uuid_pk()
    item: fields.ForeignKeyRelation[RegisterItem] = fields.ForeignKeyField(
        "models.RegisterItem", related_name="versions", on_delete=fields.RESTRICT
    )
    item_id: uuid.UUID
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="register_versions", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    kind = fields.CharEnumField(RegisterKind, max_length=32)
    version = fields.IntField()
    title = fields.CharField(max_length=200)  # from the content, for lists
    content = fields.JSONField[dict[str, Any]]()
    effective_from = fields.DateField()
    retirement = fields.BooleanField(default=False)
    retirement_reason = fields.TextField(default="")
    state = fields.CharEnumField(PublishState, max_length=16, default=PublishState.DRAFT)
    changed_on = fields.DateField()
    publish_due_on = fields.DateField()
    publish_due_on_provisional = fields.BooleanField(default=False)
    author = fields.CharField(max_length=64)
    author_name = fields.CharField(max_length=100)
    created_at = created_at()
    submitted_at = fields.DatetimeField(null=True)
    submitted_by_name = fields.CharField(max_length=100, default="")
    published_at = fields.DatetimeField(null=True)
    published_by_name = fields.CharField(max_length=100, default="")

    class Meta:
        table = "register_version"
        unique_together = (("item", "version"),)
        indexes = (Index(fields=("state", "publish_due_on")), Index(fields=("agency_id", "kind", "state")))


class RegisterEvent(Model):
    """One step of a version, append-only, each a leaf of the transparency log (``leaf_index``):
    ``propose`` (or ``retire``: a retirement proposed), ``submit``, the internal review (``approve`` or
    ``return``: who, when, the opinion in ``note``; 未经审查不得发布), ``publish``, ``supersede``.
    ``state`` is the version's state after the step: the newest step's is the version's own."""

    id = fields.BigIntField(primary_key=True)
    version: fields.ForeignKeyRelation[RegisterVersion] = fields.ForeignKeyField(
        "models.RegisterVersion", related_name="events", on_delete=fields.RESTRICT
    )
    version_id: uuid.UUID
    action = fields.CharField(max_length=16)
    state = fields.CharEnumField(PublishState, max_length=16)
    note = fields.TextField(default="")
    data = fields.JSONField[dict[str, Any]](default=dict)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    created_at = created_at()

    class Meta:
        table = "register_event"
        indexes = (Index(fields=("version_id", "leaf_index")),)
