"""A message that cannot reach the party on its channel moves to the fallback channel (policy.py):
WeChat → SMS, to the party's recorded phone, with the SMS twin the row carries since it was planned.

One rule for every moment a WeChat message is found undeliverable: at send time (no grant, 43101,
retries run out) and afterwards, when WeChat's delivery push reports it failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.models import Notification, Party
from backend.models.enums import NotificationChannel
from notifications.policy import Policy


@dataclass(frozen=True)
class Fallback:
    channel: NotificationChannel
    phone: str
    twin: dict[str, Any]  # the SMS twin: template, version, vars, content


async def fallback_for(policy: Policy, n: Notification) -> Fallback | None:
    """Where ``n`` can go instead, or None (no fallback channel, no twin, or no phone on record)."""
    channel = policy.fallback_for(n.channel)
    twin = (n.params or {}).get("fallback") if channel else None
    if not (channel and twin and n.party_id):
        return None
    phone = await Party.filter(id=n.party_id).first().values_list("phone", flat=True)
    return Fallback(channel, str(phone), twin) if phone else None


async def write_fallback(n: Notification, fb: Fallback, now: datetime) -> uuid.UUID | None:
    """The fallback row of ``n``, in the caller's transaction (the caller moved ``n`` to superseded).
    None when it exists already: one message per event, party and channel."""
    key = f"{n.event.value}:{n.event_ref}:{n.party_id}:{fb.channel.value}"
    if await Notification.filter(idempotency_key=key).exists():
        return None
    try:
        row = await Notification.create(
            idempotency_key=key, event=n.event, event_ref=n.event_ref, agency_id=n.agency_id,
            case_id=n.case_id, party_id=n.party_id, channel=fb.channel, recipient=fb.phone,
            template=fb.twin["template"], template_version=fb.twin["version"], params={"vars": fb.twin["vars"]},
            content=fb.twin["content"], fallback_of_id=n.id, relayed_at=now)
    except IntegrityError:
        return None  # somebody else wrote the fallback meanwhile
    return row.id
