"""The operator's loads of the official working-day calendar (国务院办公厅 holiday schedule).

Append-only: a load is never changed or deleted. For each year, the latest load that contains
dates of that year is the year's schedule (``services/calendar.py``); older loads stay as history.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.enums import CalendarDayKind


class CalendarLoad(Model):
    id = fields.BigIntField(primary_key=True)
    loaded_at = fields.DatetimeField()
    years = fields.JSONField[list[Any]](default=list)  # the years whose schedule this load sets
    source_name = fields.CharField(max_length=200)  # the file's name as given
    sha256 = fields.CharField(max_length=64)  # of the file's bytes
    entries = fields.IntField()
    actor = fields.CharField(max_length=64)
    actor_name = fields.CharField(max_length=100, default="")
    actor_role = fields.CharField(max_length=16, default="")

    class Meta:
        table = "calendar_load"
        table_description = "loads of the official holiday schedule (yangguang calendar load)"


class CalendarDay(Model):
    id = fields.BigIntField(primary_key=True)
    load: fields.ForeignKeyRelation[CalendarLoad] = fields.ForeignKeyField(
        "models.CalendarLoad", related_name="days", on_delete=fields.RESTRICT
    )
    load_id: int
    year = fields.IntField(db_index=True)
    day = fields.DateField()
    kind = fields.CharEnumField(CalendarDayKind, max_length=16)
    name = fields.CharField(max_length=50, default="")

    class Meta:
        table = "calendar_day"
        unique_together = (("load", "day"),)
