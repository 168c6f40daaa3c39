"""Annual statistics (统计年报, R-P6): one report per agency and year, and its frozen versions."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import StatisticsStatus


class StatisticsReport(Model):
    """Where an agency's report for a year stands (STATISTICS table in services/states.py). Written
    at the first submission; before it the report is a draft computed live from the records."""

    id = uuid_pk()
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="statistics_reports", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    year = fields.IntField()
    status = fields.CharEnumField(StatisticsStatus, max_length=16, default=StatisticsStatus.DRAFT)
    current_version = fields.IntField(default=0)  # the latest submitted version
    published_version = fields.IntField(null=True)  # the version the public sees
    submitted_at = fields.DatetimeField(null=True)  # of the latest version (from the injected clock)
    published_at = fields.DatetimeField(null=True)
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table = "statistics_report"
        unique_together = (("agency", "year"),)
        indexes = (("year", "status"),)


class StatisticsVersion(Model):
    """The figures as submitted, frozen: never changed (a correction is a new version). The
    publication of a version is written once (``published_at``) and never undone."""

    id = uuid_pk()
    report: fields.ForeignKeyRelation[StatisticsReport] = fields.ForeignKeyField(
        "models.StatisticsReport", related_name="versions", on_delete=fields.RESTRICT
    )
    report_id: uuid.UUID
    version = fields.IntField()
    figures = fields.JSONField[dict[str, Any]]()
    reason = fields.TextField(default="")  # why a later version replaces the one before
    submitted_at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")
    published_at = fields.DatetimeField(null=True)
    published_by = fields.CharField(max_length=64, default="")
    published_by_name = fields.CharField(max_length=100, default="")
    published_by_role = fields.CharField(max_length=16, default="")
    leaf_index = fields.BigIntField(null=True, unique=True)
    created_at = created_at()

    class Meta:
        table = "statistics_version"
        unique_together = (("report", "version"),)
