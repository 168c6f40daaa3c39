"""The credential lifecycle: issue, suspend/reinstate/revoke, reissue, expire; every change through
``states.CREDENTIAL``, audited in the same transaction, then the scan cache of every process refreshed."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Credential, Officer
from backend.models.enums import CredentialStatus, OfficerKind, OfficerStatus
from backend.services import audit
from backend.services.disclosure import history
from backend.services.disclosure.scans import _officer_visible
from backend.services.disclosure.status import CURRENT, MAX_VALIDITY, C, credential_not_found, effective_status
from backend.services.disclosure.verification import KeyStore, VerifyCache, invalidate
from backend.services.scope import scoped, visible_one
from backend.services.states import CREDENTIAL
from qr import tokens

log = logging.getLogger("yangguang.credentials")


# --- lifecycle -------------------------------------------------------------------------------------


async def _officer_for_update(agency_id: uuid.UUID, officer_id: uuid.UUID, tx: Any) -> Officer:
    officer = await Officer.filter(id=officer_id, agency_id=agency_id).select_for_update().using_db(tx).first()
    if officer is None:
        raise NotFound("未找到该执法人员", code="officer_not_found")
    return officer


def _check_validity(valid_from: date, valid_until: date, today: date) -> None:
    if valid_until < today:
        raise ValidationFailed("有效期截止日期已过", code="validity_in_past")
    if valid_until < valid_from:
        raise ValidationFailed("有效期截止日期不能早于起始日期", code="validity_reversed")
    if valid_until - valid_from > MAX_VALIDITY:
        raise ValidationFailed("证件有效期不能超过十年", code="validity_too_long")


async def issue(
    agency_id: uuid.UUID, officer_id: uuid.UUID, *, valid_from: date | None, valid_until: date, actor: str,
    keys: KeyStore, clock: Clock, cache: VerifyCache | None = None,
) -> tuple[Credential, str]:
    """A new credential for an enforcement officer; returns the row and its token (shown on the card)."""
    today = clock.today()
    valid_from = valid_from or today
    _check_validity(valid_from, valid_until, today)
    async with in_transaction() as tx:
        officer = await _officer_for_update(agency_id, officer_id, tx)
        if officer.kind is OfficerKind.AUXILIARY:
            raise Conflict("辅助人员不持有行政执法证件", code="auxiliary_staff_hold_no_credential")
        if officer.status is not OfficerStatus.ACTIVE or not officer.certificate_no:
            raise Conflict("该人员已离岗或没有执法证号，不能发证", code="officer_not_eligible")
        current = await Credential.filter(officer_id=officer.id, status__in=list(CURRENT),
                                          valid_until__gte=today).using_db(tx).exists()
        if current:
            raise Conflict("该人员已有在用证件；如需换发请使用补发", code="credential_exists")
        seed, token = keys.mint()
        cred = await Credential.create(officer_id=officer.id, token_hash=tokens.token_hash(token), token_seed=seed,
                                       valid_from=valid_from, valid_until=valid_until, using_db=tx)
        await history.record(cred, history.ISSUE, clock.now(), actor, using_db=tx)
        await audit.record(actor, "credential.issue", "credential", cred.id, agency_id=agency_id,
                           data={"officer_id": str(officer.id), "valid_from": valid_from.isoformat(),
                                 "valid_until": valid_until.isoformat()})
    await invalidate(cache)
    return cred, token


async def get_credential(agency_id: uuid.UUID | None, credential_id: uuid.UUID) -> Credential:
    return await visible_one(Credential.filter(id=credential_id), agency_id, credential_not_found(),
                             field="officer__agency_id")


async def list_for_officer(agency_id: uuid.UUID | None, officer_id: uuid.UUID) -> list[Credential]:
    await _officer_visible(agency_id, officer_id)
    return await Credential.filter(officer_id=officer_id).order_by("-issued_at")


async def _locked(agency_id: uuid.UUID | None, credential_id: uuid.UUID, tx: Any) -> tuple[Credential, uuid.UUID]:
    """Lock the credential row only (no join), after checking its officer belongs to the agency
    (``None``: the supervisor, who reaches every agency). Returns it with its holder's agency."""
    cred = await Credential.filter(id=credential_id).select_for_update().using_db(tx).first()
    owners = await scoped(Officer.filter(id=cred.officer_id), agency_id).using_db(tx).values_list(
        "agency_id", flat=True) if cred is not None else []
    if cred is None or not owners:
        raise credential_not_found()
    return cred, owners[0]  # type: ignore[return-value]  # flat values_list: one UUID


def _stored_view(cred: Credential, today: date) -> CredentialStatus:
    # Transitions act on the stored state, with expiry applied; "not yet valid" is a display state
    # of a valid card and may be suspended, revoked or reissued like one.
    status = effective_status(cred.status, cred.valid_from, cred.valid_until, today)
    return C.VALID if status is C.NOT_YET_VALID else status


async def change(
    agency_id: uuid.UUID | None, credential_id: uuid.UUID, action: str, *, actor: str, reason: str, clock: Clock,
    cache: VerifyCache | None = None,
) -> Credential:
    """suspend / reinstate / revoke through the transition table, audited with who and why.
    ``agency_id`` None: the supervisor (司法局), who may suspend and revoke any agency's cards."""
    if action not in ("suspend", "reinstate", "revoke"):
        raise ValueError(action)
    if action in ("suspend", "revoke") and not reason.strip():
        raise ValidationFailed("暂扣或注销证件必须说明理由", code="reason_required")
    async with in_transaction() as tx:
        cred, owner = await _locked(agency_id, credential_id, tx)
        before = _stored_view(cred, clock.today())
        after = CREDENTIAL.next(before, action)
        cred.status = after
        cred.status_reason = reason.strip()
        await cred.save(using_db=tx, update_fields=["status", "status_reason", "updated_at"])
        await history.record(cred, action, clock.now(), actor, cred.status_reason, using_db=tx)
        await audit.record(actor, f"credential.{action}", "credential", cred.id, agency_id=owner,
                           data={"from": before.value, "to": after.value, "reason": cred.status_reason})
    await invalidate(cache)
    return cred


async def reissue(
    agency_id: uuid.UUID, credential_id: uuid.UUID, *, actor: str, reason: str, valid_until: date | None,
    keys: KeyStore, clock: Clock, cache: VerifyCache | None = None,
) -> tuple[Credential, str]:
    """A new card with a new token; the old one becomes void at once (已作废).

    A suspended card's successor stays suspended: reissuing is not a way around a suspension.
    """
    today = clock.today()
    async with in_transaction() as tx:
        old, _ = await _locked(agency_id, credential_id, tx)
        before = _stored_view(old, today)
        CREDENTIAL.next(before, "reissue")  # raises when the table does not allow it
        until = valid_until or old.valid_until
        _check_validity(today, until, today)
        seed, token = keys.mint()
        new = await Credential.create(
            officer_id=old.officer_id, token_hash=tokens.token_hash(token), token_seed=seed, valid_from=today,
            valid_until=until, status=before, status_reason=old.status_reason if before is C.SUSPENDED else "",
            using_db=tx)
        old.status = C.VOID
        old.status_reason = reason.strip() or "补发新证"
        old.replaced_by_id = new.id
        await old.save(using_db=tx, update_fields=["status", "status_reason", "replaced_by_id", "updated_at"])
        await history.record(old, "reissue", clock.now(), actor, old.status_reason, using_db=tx)
        await history.record(new, history.ISSUE, clock.now(), actor, f"补发，替换 {old.id}", using_db=tx)
        await audit.record(actor, "credential.reissue", "credential", old.id, agency_id=agency_id,
                           data={"from": before.value, "to": C.VOID.value, "replaced_by": str(new.id),
                                 "reason": old.status_reason})
        await audit.record(actor, "credential.issue", "credential", new.id, agency_id=agency_id,
                           data={"officer_id": str(old.officer_id), "replaces": str(old.id),
                                 "valid_from": today.isoformat(), "valid_until": until.isoformat()})
    await invalidate(cache)
    return new, token


async def expire_due(clock: Clock, cache: VerifyCache | None = None, actor: str = "system:expiry") -> int:
    """Persist expiry for every credential past its validity (a cron calls this; reads never wait for it)."""
    today = clock.today()
    ids = await Credential.filter(status__in=list(CURRENT), valid_until__lt=today).values_list("id", flat=True)
    done = 0
    for cid in ids:
        async with in_transaction() as tx:
            cred = await Credential.filter(id=cid).select_for_update().using_db(tx).first()
            if cred is None or cred.status not in CURRENT or cred.valid_until >= today:
                continue  # changed meanwhile; running twice is harmless
            before = C(cred.status)
            cred.status = CREDENTIAL.next(before, "expire")
            await cred.save(using_db=tx, update_fields=["status", "updated_at"])
            await history.record(cred, "expire", clock.now(), actor, using_db=tx)
            officer = await Officer.filter(id=cred.officer_id).using_db(tx).values("agency_id")
            await audit.record(actor, "credential.expire", "credential", cred.id,
                               agency_id=officer[0]["agency_id"] if officer else None,
                               data={"from": before.value, "to": cred.status.value,
                                     "valid_until": cred.valid_until.isoformat()})
            done += 1
    if done:
        await invalidate(cache)
    return done
