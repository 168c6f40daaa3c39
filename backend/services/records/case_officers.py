"""Who works a case: one lead (主办人) and assistants (R-R1). A step may name only the case's officers."""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from backend.errors import Conflict, ValidationFailed
from backend.models import Case, CaseOfficer, Officer
from backend.models.enums import CaseOfficerRole, OfficerKind, OfficerStatus
from backend.services import audit

LEAD, ASSISTANT = CaseOfficerRole.LEAD, CaseOfficerRole.ASSISTANT


async def team(case_id: uuid.UUID) -> list[tuple[Officer, CaseOfficerRole]]:
    """The case's officers, the lead first."""
    links = await CaseOfficer.filter(case_id=case_id).prefetch_related("officer").order_by("id")
    pairs = [(link.officer, link.role) for link in links]
    return sorted(pairs, key=lambda p: p[1] is not LEAD)


async def assign(case: Case, lead: uuid.UUID | None, assistants: list[uuid.UUID], actor: str) -> None:
    """Add officers to the case. A new lead takes over; the previous lead stays on as an assistant.
    Officers must be active staff of the case's agency; the lead must be an enforcement officer."""
    wanted = ([lead] if lead else []) + [a for a in assistants if a != lead]
    if not wanted:
        raise ValidationFailed("请至少指定一名办案人员", code="officers_required")
    found = {o.id: o for o in await Officer.filter(id__in=wanted, agency_id=case.agency_id)}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise ValidationFailed("以下人员不是本机构的执法人员：" + "、".join(missing), code="officer_not_found",
                               details=[{"officer_id": i} for i in missing])
    departed = [o.name for o in found.values() if o.status is not OfficerStatus.ACTIVE]
    if departed:
        raise Conflict("以下人员已离岗，不能办案：" + "、".join(departed), code="officer_not_active")
    if lead and found[lead].kind is not OfficerKind.ENFORCEMENT:
        raise ValidationFailed("主办人须为执法人员，辅助人员不能主办案件", code="lead_must_be_enforcement")
    async with in_transaction():
        await Case.filter(id=case.id).select_for_update().get()  # one assignment at a time per case
        links = {link.officer_id: link for link in await CaseOfficer.filter(case_id=case.id)}
        if lead:
            for link in links.values():
                if link.role is LEAD and link.officer_id != lead:
                    link.role = ASSISTANT
                    await link.save(update_fields=["role"])
        for officer_id in wanted:
            role = LEAD if officer_id == lead else ASSISTANT
            existing = links.get(officer_id)
            if existing is None:
                await CaseOfficer.create(case_id=case.id, officer_id=officer_id, role=role)
            elif existing.role is not role and role is LEAD:
                existing.role = role
                await existing.save(update_fields=["role"])
        await audit.record(actor, "case.assign_officers", "case", case.id, agency_id=case.agency_id,
                           data={"lead": str(lead) if lead else None, "assistants": [str(a) for a in assistants]})
