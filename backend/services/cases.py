"""Cases, their parties and decisions: just enough for publication and notices (R-P, R-N)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound
from backend.models import Case, CaseParty, Decision, Party
from backend.models.enums import CaseType, PartyKind, RecordStep
from backend.services import audit, masking, records
from backend.services.scope import visible_one


def binding_code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _case_number(today: date) -> str:
    # Human-readable and unique within the agency; ids in URLs are the random UUIDs.
    return f"{today.year}-{secrets.token_hex(4).upper()}"


async def create_case(agency_id: uuid.UUID, data: dict[str, Any], actor: str,
                      clock: Clock) -> tuple[Case, list[tuple[Party, str]]]:
    """Create a case with its parties. Each party gets a binding code, returned once: printed on the
    paperwork, it lets the party link their WeChat account to the case in the mini-program."""
    for _ in range(5):
        try:
            async with in_transaction():
                now = clock.now()
                case = await Case.create(agency_id=agency_id, number=_case_number(now.date()),
                                         title=data["title"], type=CaseType(data["type"]))
                parties: list[tuple[Party, str]] = []
                for p in data["parties"]:
                    party = await Party.create(kind=PartyKind(p["kind"]), name=p["name"],
                                               phone=p.get("phone"), id_number=p.get("id_number"))
                    code = secrets.token_hex(5).upper()
                    await CaseParty.create(case=case, party=party, binding_code_hash=binding_code_hash(code))
                    parties.append((party, code))
                await records.append(case, RecordStep.START, f"立案：{case.title}", actor, now)
                await audit.record(actor, "case.create", "case", case.id, agency_id=agency_id,
                                   data={"number": case.number, "parties": len(parties)})
                return case, parties
        except IntegrityError:
            continue  # a number collision: draw again
    raise Conflict("无法生成案件编号，请重试", code="case_number_exhausted")


async def get_case(agency_id: uuid.UUID | None, case_id: uuid.UUID) -> Case:
    return await visible_one(Case.filter(id=case_id), agency_id, NotFound("未找到该案件", code="case_not_found"))


async def case_parties(case_id: uuid.UUID) -> list[Party]:
    return await Party.filter(case_links__case_id=case_id).order_by("created_at")


async def create_decision(agency_id: uuid.UUID, case_id: uuid.UUID, data: dict[str, Any],
                          actor: str) -> Decision:
    case = await get_case(agency_id, case_id)
    parties = await case_parties(case.id)
    try:
        async with in_transaction():
            decision = await Decision.create(
                case=case, agency_id=agency_id, type=case.type, document_no=data["document_no"],
                summary=data["summary"], decided_at=data["decided_at"],
                public_party_name=masking.joined_public_names(parties))
            await audit.record(actor, "decision.create", "decision", decision.id, agency_id=agency_id,
                               data={"document_no": decision.document_no})
    except IntegrityError as exc:
        raise Conflict("该文书编号已存在", code="document_no_taken") from exc
    return decision


async def get_decision(agency_id: uuid.UUID | None, decision_id: uuid.UUID) -> Decision:
    return await visible_one(Decision.filter(id=decision_id), agency_id,
                             NotFound("未找到该执法决定", code="decision_not_found"))
