"""The hash-chained case record (R-R4): every entry commits to the one before it.

``hash = sha256(prev_hash ‖ canonical JSON of the entry)``; the first entry chains to ``GENESIS``.
Callers append inside their own transaction, so the entry commits with the change it records.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from backend.models import Case, CaseRecord
from backend.models.enums import RecordStep

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(entry)).hexdigest()


def entry_view(case_id: uuid.UUID, seq: int, step: RecordStep, occurred_at: datetime, text: str,
               actor: str, officers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"case_id": str(case_id), "seq": seq, "step": step.value,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "text": text, "actor": actor, "officers": officers}


async def append(case: Case, step: RecordStep, text: str, actor: str, occurred_at: datetime,
                 officers: list[dict[str, Any]] | None = None) -> CaseRecord:
    """Append one entry. The caller holds the case row lock (``select_for_update``), so seq is free."""
    last = await CaseRecord.filter(case_id=case.id).order_by("-seq").first().values("seq", "hash")
    seq = (last["seq"] + 1) if last else 1
    prev = last["hash"] if last else GENESIS
    officers = officers or []
    digest = chain_hash(prev, entry_view(case.id, seq, step, occurred_at, text, actor, officers))
    return await CaseRecord.create(case_id=case.id, seq=seq, step=step, occurred_at=occurred_at,
                                   text=text, actor=actor, officers=officers, prev_hash=prev, hash=digest)


async def verify_chain(case_id: uuid.UUID) -> bool:
    prev = GENESIS
    async for row in CaseRecord.filter(case_id=case_id).order_by("seq"):
        view = entry_view(case_id, row.seq, row.step, row.occurred_at, row.text, row.actor, row.officers)
        if row.prev_hash != prev or chain_hash(prev, view) != row.hash:
            return False
        prev = row.hash
    return True
