"""Agencies: creation from the CLI, and the public register (R-D1)."""

from __future__ import annotations

import re
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import Conflict, ValidationFailed
from backend.models import Agency, ApiKey
from backend.models.enums import AgencyKind, Role
from backend.services import apikeys, audit

# GB 32100-2015: 18 characters from digits and upper-case letters without I, O, S, V, Z.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_is_valid(code: str) -> bool:
    if not CREDIT_CODE.match(code):
        return False
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(code[:17], _WEIGHTS, strict=True))
    return _CODE_CHARS[(31 - total % 31) % 31] == code[17]


def with_check_digit(first17: str) -> str:
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + _CODE_CHARS[(31 - total % 31) % 31]


BOOTSTRAP_SYSTEM = "机构初始密钥（yangguang agency create）"


async def create_agency(
    name: str, credit_code: str, *, kind: AgencyKind = AgencyKind.AGENCY, actor: str = "cli",
    holder: apikeys.KeyHolder | None = None, **fields: Any,
) -> tuple[Agency, ApiKey, str]:
    """Create an agency and its first key (admin, or supervisor for a supervising body). The key
    belongs to ``holder``; without one, to the named system "机构初始密钥" (the operator's
    bootstrap key, to be replaced by person-bound keys)."""
    holder = holder or apikeys.KeyHolder(system_name=BOOTSTRAP_SYSTEM)
    name = name.strip()
    credit_code = credit_code.strip().upper()
    if not name or len(name) > 200:
        raise ValidationFailed("机构名称不能为空且不超过200字", code="invalid_name")
    if not credit_code_is_valid(credit_code):
        raise ValidationFailed("统一社会信用代码格式或校验位不正确", code="invalid_credit_code")
    role = Role.SUPERVISOR if kind is AgencyKind.SUPERVISOR else Role.ADMIN
    try:
        async with in_transaction():
            agency = await Agency.create(name=name, credit_code=credit_code, kind=kind, **fields)
            await audit.record(actor, "agency.create", "agency", agency.id, agency_id=agency.id,
                               data={"name": name, "credit_code": credit_code, "kind": kind.value})
            key_row, key = await apikeys.create_key(agency, role, "initial", actor, holder)
    except IntegrityError as exc:
        raise Conflict("该统一社会信用代码已登记", code="agency_exists") from exc
    return agency, key_row, key


async def set_supervising_body(agency: Agency, body: Agency, actor: str = "cli") -> Agency:
    """Record the agency's own supervising body (the government's 执法监督机构 at its level): it gives
    the government-level legal review and orders and receives rectification (services/supervision)."""
    if agency.kind is AgencyKind.SUPERVISOR:
        raise ValidationFailed("监督机构本身不设上级监督机构", code="supervisor_not_supervised")
    if body.kind is not AgencyKind.SUPERVISOR:
        raise ValidationFailed("执法监督机构须为监督机构（yangguang supervisor create 创建的）",
                               code="not_a_supervising_body")
    async with in_transaction():
        before = agency.supervised_by_id
        agency.supervised_by_id = body.id
        await agency.save(update_fields=["supervised_by_id", "updated_at"])
        await audit.record(actor, "agency.supervised_by", "agency", agency.id, agency_id=agency.id,
                           data={"supervised_by": str(body.id), "before": str(before) if before else None})
    return agency
