"""Small shared pieces of the data model."""

from __future__ import annotations

import uuid

from tortoise import fields


def uuid_pk() -> fields.UUIDField:
    """Random public id: never sequential, never enumerable."""
    return fields.UUIDField(primary_key=True, default=uuid.uuid4)


def created_at() -> fields.DatetimeField:
    return fields.DatetimeField(auto_now_add=True)


def updated_at() -> fields.DatetimeField:
    return fields.DatetimeField(auto_now=True)
