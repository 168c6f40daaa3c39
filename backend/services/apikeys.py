"""Agency API keys: minted once, stored only as a SHA-256 hash, carrying one role."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound
from backend.models import Agency, ApiKey
from backend.models.enums import AgencyKind, Role
from backend.services import audit

KEY_PREFIX = "yg_"


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    agency_id: uuid.UUID
    role: Role

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR


def hash_key(key: str) -> str:
    # Keys carry 256 bits of randomness, so a plain hash resists guessing; no slow KDF is needed.
    return hashlib.sha256(key.encode()).hexdigest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(agency: Agency, role: Role, name: str, actor: str) -> tuple[ApiKey, str]:
    """Return the stored key row and the key itself, which is shown once and never again."""
    if role is Role.SUPERVISOR and agency.kind is not AgencyKind.SUPERVISOR:
        raise Conflict("只有监督机构可以持有监督密钥", code="supervisor_key_for_agency")
    if role is not Role.SUPERVISOR and agency.kind is AgencyKind.SUPERVISOR:
        raise Conflict("监督机构只能持有监督密钥", code="agency_key_for_supervisor")
    key = mint_key()
    async with in_transaction():
        row = await ApiKey.create(agency=agency, role=role, name=name, key_hash=hash_key(key),
                                  prefix=key[: len(KEY_PREFIX) + 6])
        await audit.record(actor, "api_key.create", "api_key", row.id, agency_id=agency.id,
                           data={"role": role.value, "name": name})
    return row, key


async def authenticate(key: str) -> Principal | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    row = await ApiKey.filter(key_hash=hash_key(key), revoked_at__isnull=True).first().values(
        "id", "agency_id", "role"
    )
    if row is None:
        return None
    return Principal(key_id=row["id"], agency_id=row["agency_id"], role=Role(row["role"]))


async def list_keys(agency_id: uuid.UUID) -> list[ApiKey]:
    return await ApiKey.filter(agency_id=agency_id).order_by("created_at")


async def revoke_key(agency_id: uuid.UUID, key_id: uuid.UUID, actor: str, clock: Clock) -> ApiKey:
    async with in_transaction():
        row = await ApiKey.filter(id=key_id, agency_id=agency_id).select_for_update().first()
        if row is None:
            raise NotFound("未找到该密钥")
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            await row.save(update_fields=["revoked_at"])
            await audit.record(actor, "api_key.revoke", "api_key", row.id, agency_id=agency_id)
    return row


def last_used_is_stale(last: datetime | None, now: datetime) -> bool:
    return last is None or (now - last).total_seconds() > 60
