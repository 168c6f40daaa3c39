"""A complaint's record: the intake and every later step, each a leaf of the transparency log.

The intake (``Complaint``, written once with ``leaf_index``) and each step (``ComplaintEvent``:
acknowledge, handle, answer, rate, escalate, close) are full-process records: the leaf is appended
in the transaction of the change, the row holds its index, and ``yangguang audit verify`` rebuilds
each leaf from its row with the functions below (``services/leaf_sources.py``).

What a leaf may say: the log's entries are readable by the agency's staff, the officer complained
about included. So a leaf carries no identity and no free text: the text, the address, the
complainant's phone and each step's note enter it as SHA-256 digests salted with the complaint's
own random salt (kept in the row, never in the log), so a reader of the log cannot recover a short
text or a phone number by guessing, while a changed row no longer matches its leaf.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from backend import atomic
from backend.clock import Clock
from backend.models import Complaint, ComplaintEvent
from backend.models.enums import ComplaintStatus, LeafKind, NotificationEvent
from backend.services import audit
from backend.services.transparency import log
from backend.settings import Settings
from notifications import outgoing

COMPLAINANT = "public:complainant"  # the actor of the complainant's own steps (filing, rating)
COMPLAINANT_ROLE = "complainant"
ESCALATION = "system:complaint-escalation"  # the actor of the overdue job and of a low rating

# What the complainant is told at each step (SMS to a verified phone); steps not listed send nothing.
TOLD = {
    "acknowledge": "已受理，将于{answer_due_on}前答复",
    "handle": "正在办理中",
    "answer": "已答复，请凭查询码查看答复并评价",
    "escalate": "已转交执法监督机构督办",
}
# The words of each step in the public progress (the complainant's view).
STEP_WORDS = {
    "submit": "已收到", "acknowledge": "已受理", "handle": "办理中", "answer": "已答复",
    "rate": "已评价", "escalate": "已转执法监督机构督办", "close": "已办结",
}


def digest(salt: str, value: str | None) -> str | None:
    """SHA-256(salt ‖ value) in hex; None stays None (a field that was not given)."""
    if value is None:
        return None
    return hashlib.sha256(f"{salt}\x00{value}".encode()).hexdigest()


def _coord(value: Any) -> str | None:
    return None if value is None else f"{float(value):.2f}"


def leaf_content(c: Complaint) -> dict[str, Any]:
    """What the log commits to for a complaint as received: fields fixed at intake only."""
    return {"type": "complaint", "id": str(c.id), "tracking_no": c.tracking_no, "kind": c.kind.value,
            "about": c.about.value, "agency_id": str(c.agency_id),
            "officer_id": str(c.officer_id) if c.officer_id else None,
            "credential_id": str(c.credential_id) if c.credential_id else None,
            "case_id": str(c.case_id) if c.case_id else None,
            "decision_id": str(c.decision_id) if c.decision_id else None,
            "text_digest": digest(c.salt, c.text), "address_digest": digest(c.salt, c.address),
            "photos": [p["sha256"] for p in c.photos],
            "latitude": _coord(c.latitude), "longitude": _coord(c.longitude),
            "anonymous": c.anonymous, "contact_digest": digest(c.salt, c.contact_phone or c.wechat_openid),
            "channel": c.channel, "submitted_at": log.leaf_time(c.submitted_at),
            "acknowledge_due_on": c.acknowledge_due_on.isoformat() if c.acknowledge_due_on else None,
            "answer_due_on": c.answer_due_on.isoformat() if c.answer_due_on else None}


def event_leaf_content(e: ComplaintEvent, c: Complaint) -> dict[str, Any]:
    return {"type": "complaint_event", "complaint_id": str(c.id), "tracking_no": c.tracking_no,
            "action": e.action, "status": e.status.value, "note_digest": digest(c.salt, e.note), "data": e.data,
            "at": log.leaf_time(e.at), "actor": e.actor, "actor_name": e.actor_name, "actor_role": e.actor_role}


def record_intake(db: atomic.Db, c: Complaint, clock: Clock) -> atomic.Program[None]:
    """Append the complaint's leaf and write the row holding it: steps of the intake's program
    (``backend.atomic``), so both commit with the rest of the filing or neither does."""
    leaf = yield from log.append_steps(db.dialect, LeafKind.COMPLAINT, leaf_content(c), c.agency_id,
                                       f"complaint:{c.id}", clock.now())  # read under the log's lock
    c.leaf_index = leaf.leaf_index
    yield from db.insert(c)


async def record_step(settings: Settings, c: Complaint, action: str, status: ComplaintStatus, actor: str,
                      now: datetime, clock: Clock, *, note: str = "", data: dict[str, Any] | None = None
                      ) -> tuple[ComplaintEvent, list[uuid.UUID]]:
    """One step: the event with its leaf, the audit entry, and the SMS to a verified phone. Call it
    inside the step's transaction; hand the returned notification ids to the outbox after commit."""
    name, role = ("投诉人", COMPLAINANT_ROLE) if actor == COMPLAINANT else audit.who(actor)
    event = ComplaintEvent(complaint_id=c.id, action=action, status=status, note=note, data=data or {}, at=now,
                           actor=actor, actor_name=name, actor_role=role)
    await log.append_row(event, LeafKind.COMPLAINT_EVENT, event_leaf_content(event, c), agency_id=c.agency_id,
                         ref=f"complaint:{c.id}", clock=clock)
    await audit.record(actor, f"complaint.{action}", "complaint", c.id, agency_id=c.agency_id,
                       role=COMPLAINANT_ROLE if actor == COMPLAINANT else "",
                       data={"event": event.id, "status": status.value,
                             **{k: v for k, v in (data or {}).items() if k in ("reason", "score")}})
    ids: list[uuid.UUID] = []
    told = TOLD.get(action)
    if told is not None and (c.contact_phone or c.wechat_openid):
        due = c.answer_due_on.isoformat() if c.answer_due_on else ""
        ctx = {"no": c.tracking_no, "step": told.format(answer_due_on=due), "date": now.date().isoformat()}
        ref = f"complaint_event:{event.id}"
        # The verified phone when there is one (an SMS always arrives); else the WeChat user who filed
        # it signed in (a subscription message, which the mini-program asks them to accept).
        row = (outgoing.to_phone(settings, NotificationEvent.COMPLAINT_UPDATE, ref, c.agency_id, c.contact_phone,
                                 ctx, now) if c.contact_phone else
               outgoing.to_openid(settings, NotificationEvent.COMPLAINT_UPDATE, ref, c.agency_id,
                                  str(c.wechat_openid), ctx, now))
        ids = await outgoing.write([row])
    return event, ids
