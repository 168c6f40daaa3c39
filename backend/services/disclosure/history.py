"""A credential's history: every change with when (the injected clock) and who, so that a case
record can be checked against the status the card had at the moment of the step (R-R1).

``record`` is called in the transaction of the change itself (services/disclosure/credentials.py,
services/officers.py); ``valid_at`` answers "could this card be used at that moment?".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from backend.clock import SHANGHAI
from backend.models import Credential, CredentialEvent, Officer
from backend.models.enums import CredentialStatus, LeafKind
from backend.services import audit
from backend.services.transparency import log

ISSUE = "issue"


def leaf_content(event: CredentialEvent, agency_id: uuid.UUID) -> dict[str, Any]:
    """What the transparency log commits to for a credential change."""
    return {"type": "credential_change", "agency_id": str(agency_id),
            "credential_id": str(event.credential_id), "action": event.action,
            "status_after": event.status_after.value, "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "reason": event.reason, "actor": event.actor, "actor_name": event.actor_name,
            "actor_role": event.actor_role}


async def record(cred: Credential, action: str, at: datetime, actor: str, reason: str = "",
                 using_db: Any = None) -> CredentialEvent:
    """One event, written with the change it describes (same transaction)."""
    name, role = audit.who(actor)
    event = CredentialEvent(credential_id=cred.id, action=action, status_after=cred.status, at=at, reason=reason,
                            actor=actor, actor_name=name, actor_role=role)
    agency_id = (await Officer.filter(id=cred.officer_id).using_db(using_db).values_list("agency_id", flat=True))[0]
    leaf = await log.append(LeafKind.CREDENTIAL_CHANGE, leaf_content(event, agency_id),  # type: ignore[arg-type]
                            agency_id=agency_id, ref=f"credential:{cred.id}")  # type: ignore[arg-type]
    event.leaf_index = leaf.leaf_index
    await event.save(using_db=using_db)
    return event


async def valid_at(credential_ids: list[uuid.UUID], at: datetime) -> dict[uuid.UUID, bool]:
    """For each credential: was it in force at ``at`` -- within its validity dates (Asia/Shanghai
    calendar day) and, by its history, issued and not suspended, revoked, expired or void then?
    A card issued before histories were kept has none: its present status stands in for it."""
    if not credential_ids:
        return {}
    day = at.astimezone(SHANGHAI).date()
    cards = {c["id"]: c for c in await Credential.filter(id__in=credential_ids).values(
        "id", "status", "valid_from", "valid_until")}
    events: dict[uuid.UUID, list[tuple[datetime, CredentialStatus]]] = {}
    for e in await CredentialEvent.filter(credential_id__in=list(cards)).order_by("at", "id").values(
            "credential_id", "at", "status_after"):
        events.setdefault(e["credential_id"], []).append((e["at"], CredentialStatus(e["status_after"])))
    answer: dict[uuid.UUID, bool] = {}
    for cid in credential_ids:
        card = cards.get(cid)
        if card is None:
            answer[cid] = False
            continue
        history = events.get(cid)
        if history is None:
            status = CredentialStatus(card["status"])
        else:
            before = [s for t, s in history if t <= at]
            status = before[-1] if before else CredentialStatus.NOT_YET_VALID  # not issued yet
        answer[cid] = status is CredentialStatus.VALID and card["valid_from"] <= day <= card["valid_until"]
    return answer
