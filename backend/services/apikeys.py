"""Agency API keys: minted once, stored only as a SHA-256 hash, carrying one role, belonging to one
person (an officer or a named staff member of the agency) or one named system. Every audit entry made
with a key records that holder and the key's role."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Agency, ApiKey, Officer
from backend.models.enums import AgencyKind, OfficerStatus, Role
from backend.services import audit

KEY_PREFIX = "yg_"
KEY_SHAPE = re.compile(r"yg_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class KeyHolder:
    """Whose key it is: exactly one of these."""

    officer_id: uuid.UUID | None = None
    person_name: str = ""
    system_name: str = ""

    def check(self) -> KeyHolder:
        person, system = self.person_name.strip(), self.system_name.strip()
        given = [self.officer_id is not None, bool(person), bool(system)]
        if sum(given) != 1:
            raise ValidationFailed("密钥必须属于一名人员（officer_id 或 person_name）或一个具名系统"
                                   "（system_name），且只能是其中之一", code="key_holder_required")
        return KeyHolder(self.officer_id, person[:50], system[:100])


def holder_label(officer_name: str | None, person_name: str, system_name: str) -> str:
    if officer_name:
        return officer_name
    return person_name or (f"系统：{system_name}" if system_name else "未登记持有人")


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    agency_id: uuid.UUID
    role: Role
    holder: str = ""  # the person or system the key belongs to (audit entries record it)
    system_name: str = ""  # the named system holding the key, if a system holds it

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


async def create_key(agency: Agency, role: Role, name: str, actor: str, holder: KeyHolder) -> tuple[ApiKey, str]:
    """Return the stored key row and the key itself, which is shown once and never again."""
    holder = holder.check()
    if holder.officer_id is not None and not await Officer.filter(
            id=holder.officer_id, agency_id=agency.id, status=OfficerStatus.ACTIVE).exists():
        raise NotFound("未找到该机构在岗的执法人员", code="officer_not_found")
    if role is Role.INTEGRATOR and not holder.system_name:
        # An Open311 integrator is a system (a 12345 hotline platform), named so its filings say whose they are.
        raise ValidationFailed("对接系统密钥必须属于一个具名系统（system_name）",
                               code="integrator_key_needs_system")
    if role is Role.SUPERVISOR and agency.kind is not AgencyKind.SUPERVISOR:
        raise Conflict("只有监督机构可以持有监督密钥", code="supervisor_key_for_agency")
    # The city's 12345 platform is usually connected by the supervisor (司法局): integrator keys may
    # belong to any agency; every other key of a supervisor is a supervisor key.
    if role not in (Role.SUPERVISOR, Role.INTEGRATOR) and agency.kind is AgencyKind.SUPERVISOR:
        raise Conflict("监督机构只能持有监督密钥", code="agency_key_for_supervisor")
    key = mint_key()
    async with in_transaction():
        row = await ApiKey.create(agency=agency, role=role, name=name, key_hash=hash_key(key),
                                  prefix=key[: len(KEY_PREFIX) + 6], officer_id=holder.officer_id,
                                  person_name=holder.person_name, system_name=holder.system_name)
        await audit.record(actor, "api_key.create", "api_key", row.id, agency_id=agency.id,
                           data={"role": role.value, "name": name, "officer_id": str(holder.officer_id or ""),
                                 "person_name": holder.person_name, "system_name": holder.system_name})
    return row, key


async def authenticate(key: str, clock: Clock) -> Principal | None:
    # Garbage is refused without touching the database.
    if not KEY_SHAPE.fullmatch(key):
        return None
    row = await ApiKey.filter(key_hash=hash_key(key), revoked_at__isnull=True).first().values(
        "id", "agency_id", "role", "person_name", "system_name", officer_name="officer__name"
    )
    if row is None:
        return None
    principal = Principal(key_id=row["id"], agency_id=row["agency_id"], role=Role(row["role"]),
                          holder=holder_label(row["officer_name"], row["person_name"], row["system_name"]),
                          system_name=row["system_name"])
    await _touch(principal.key_id, clock)
    return principal


# key id -> monotonic time of the last last_used_at write, so a busy key costs one write a minute.
_touched: dict[uuid.UUID, float] = {}


async def _touch(key_id: uuid.UUID, clock: Clock) -> None:
    now = time.monotonic()
    if now - _touched.get(key_id, -1e9) < 60:
        return
    _touched[key_id] = now
    if len(_touched) > 10_000:
        _touched.clear()
    await ApiKey.filter(id=key_id).update(last_used_at=clock.now())


async def list_keys(agency_id: uuid.UUID) -> list[ApiKey]:
    return await ApiKey.filter(agency_id=agency_id).order_by("created_at")


async def revoke_key(agency_id: uuid.UUID, key_id: uuid.UUID, actor: str, clock: Clock) -> ApiKey:
    async with in_transaction():
        row = await ApiKey.filter(id=key_id, agency_id=agency_id).select_for_update().first()
        if row is None:
            raise NotFound("未找到该密钥")
        if row.revoked_at is None:
            if row.role is Role.ADMIN and not await ApiKey.filter(
                    agency_id=agency_id, role=Role.ADMIN, revoked_at__isnull=True).exclude(id=row.id).exists():
                raise Conflict("这是本机构最后一个有效的管理员密钥，吊销后将无人能管理本机构；请先为其他管理员创建密钥",
                               code="last_admin_key")
            row.revoked_at = clock.now()
            await row.save(update_fields=["revoked_at"])
            await audit.record(actor, "api_key.revoke", "api_key", row.id, agency_id=agency_id)
    return row
