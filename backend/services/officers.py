"""Officer register (R-D2): agency-scoped writes, public fields kept apart from private ones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Credential, Officer
from backend.models.enums import OfficerKind, OfficerStatus
from backend.services import audit
from backend.services.disclosure import history
from backend.services.scope import scoped, visible_one
from backend.services.states import CREDENTIAL

# Fields an agency may set; everything else is the system's.
EDITABLE = ("name", "kind", "certificate_no", "categories", "region", "unit", "is_legal_reviewer",
            "status", "id_number", "phone", "home_address")
PRIVATE = frozenset({"id_number", "phone", "home_address"})


def officer_not_found() -> NotFound:
    return NotFound("未找到该执法人员", code="officer_not_found")


def _check_kind(kind: OfficerKind, certificate_no: str | None) -> None:
    if kind is OfficerKind.ENFORCEMENT and not certificate_no:
        raise ValidationFailed("执法人员必须填写执法证号", code="certificate_required")
    if kind is OfficerKind.AUXILIARY and certificate_no:
        raise ValidationFailed("辅助人员不持有执法证", code="auxiliary_has_no_certificate")


async def create_officer(agency_id: uuid.UUID, data: dict[str, Any], actor: str) -> Officer:
    kind = OfficerKind(data.get("kind") or OfficerKind.ENFORCEMENT)
    _check_kind(kind, data.get("certificate_no"))
    try:
        async with in_transaction():
            officer = await Officer.create(agency_id=agency_id, **data)
            await audit.record(actor, "officer.create", "officer", officer.id, agency_id=agency_id,
                               data=_audit_view(data))
    except IntegrityError as exc:
        raise Conflict("该执法证号已被登记", code="certificate_no_taken") from exc
    return officer


async def get_officer(agency_id: uuid.UUID | None, officer_id: uuid.UUID) -> Officer:
    return await visible_one(Officer.filter(id=officer_id), agency_id, officer_not_found())


def search_filter(q: str) -> Q:
    """A name fragment, or a whole certificate number; a text longer than the certificate column
    cannot be one (PostgreSQL refuses a parameter longer than its varchar column)."""
    condition = Q(name__icontains=q)
    if len(q) <= Officer._meta.fields_map["certificate_no"].max_length:  # type: ignore[attr-defined]
        condition |= Q(certificate_no=q)
    return condition


async def list_officers(
    agency_id: uuid.UUID | None, *, page: int, page_size: int, q: str | None = None
) -> tuple[list[Officer], int]:
    query = scoped(Officer.all(), agency_id)
    if q:
        query = query.filter(search_filter(q))
    total = await query.count()
    rows = await query.order_by("name", "id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


async def update_officer(
    agency_id: uuid.UUID, officer_id: uuid.UUID, changes: dict[str, Any], actor: str, clock: Clock
) -> tuple[Officer, int]:
    """Apply the changes; an officer who departs loses every card at once (same transaction).
    Returns the officer and how many credentials that voided (the caller refreshes the scan cache)."""
    voided = 0
    try:
        async with in_transaction():
            officer = await visible_one(Officer.filter(id=officer_id).select_for_update(), agency_id,
                                        officer_not_found())
            departing = changes.get("status") == OfficerStatus.DEPARTED and officer.status != OfficerStatus.DEPARTED
            for name, value in changes.items():
                setattr(officer, name, value)
            _check_kind(officer.kind, officer.certificate_no)
            await officer.save(update_fields=list(changes) or None)
            await audit.record(actor, "officer.update", "officer", officer.id, agency_id=agency_id,
                               data=_audit_view(changes))
            if departing:
                voided = await _void_cards_of_departed(officer, actor, clock.now())
    except IntegrityError as exc:
        raise Conflict("该执法证号已被登记", code="certificate_no_taken") from exc
    return officer, voided


async def _void_cards_of_departed(officer: Officer, actor: str, at: datetime) -> int:
    moves = CREDENTIAL.table["officer_departed"]
    cards = await Credential.filter(officer_id=officer.id, status__in=list(moves)).select_for_update()
    for card in cards:
        before = card.status
        card.status = CREDENTIAL.next(before, "officer_departed")
        card.status_reason = "持证人已离岗"
        await card.save(update_fields=["status", "status_reason", "updated_at"])
        await history.record(card, "officer_departed", at, actor, card.status_reason)
        await audit.record(actor, "credential.officer_departed", "credential", card.id,
                           agency_id=officer.agency_id, data={"from": before.value, "to": card.status.value})
    return len(cards)


def _audit_view(data: dict[str, Any]) -> dict[str, Any]:
    # The audit trail records that private fields changed, never their values.
    return {k: ("[changed]" if k in PRIVATE else v) for k, v in data.items()}
