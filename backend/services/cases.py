"""Cases, their parties and decisions: just enough for publication and notices (R-P, R-N).

A case's status follows its events through the CASE transition table (``services/states.py``):
立案 → ``open``; registering a decision → ``decided`` (action ``decide``); publishing it →
``executing`` (action ``execute``: the decision is in force and public, what remains is carrying it
out); corrections and withdrawals of the publication leave the case status as it is. An event the
table does not allow (a decision on a closed case) is refused with a stable 409.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, Clock
from backend.errors import Conflict, NotFound
from backend.models import Case, CaseParty, Decision, Party
from backend.models.enums import CaseStatus, CaseType, ChannelPreference, PartyKind, RecordStep
from backend.services import audit, masking, records
from backend.services.scope import scoped, visible_one
from backend.services.states import CASE

# Why a party cannot be notified: shown on the case and in the notification view (R-N3).
NO_CONTACT = "no_contact"  # neither a phone number nor a bound WeChat account
OPTED_OUT = "opted_out"  # the party chose to receive no messages
UNREACHABLE_WORDS = {NO_CONTACT: "没有手机号，也未绑定微信，无法通知", OPTED_OUT: "当事人选择不接收通知"}


def unreachable_reason(party: Party) -> str | None:
    """None when some channel can reach the party; otherwise why not."""
    if party.channel_preference is ChannelPreference.NONE:
        return OPTED_OUT
    # The same rule as publication._channels_for: WeChat if bound and wanted, else SMS if a phone is known.
    by_wechat = bool(party.wechat_openid) and party.channel_preference is not ChannelPreference.SMS
    if not by_wechat and not party.phone:
        return NO_CONTACT
    return None


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    number: str | None = None
    created_from: date | None = None  # Asia/Shanghai calendar days, both ends included
    created_to: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


async def list_cases(agency_id: uuid.UUID | None, flt: CaseFilter, *, page: int, page_size: int
                     ) -> tuple[list[Case], dict[uuid.UUID, list[Party]], int]:
    """One page of the agency's cases (every agency's for the supervisor), newest first, with parties."""
    query = scoped(Case.all(), agency_id)
    if flt.status is not None:
        query = query.filter(status=flt.status)
    if flt.number:
        query = query.filter(number__icontains=flt.number)
    if flt.created_from is not None:
        query = query.filter(created_at__gte=_day_start(flt.created_from))
    if flt.created_to is not None:
        query = query.filter(created_at__lt=_day_start(flt.created_to + timedelta(days=1)))
    total = await query.count()
    rows = await query.order_by("-created_at", "id").offset((page - 1) * page_size).limit(page_size)
    parties: dict[uuid.UUID, list[Party]] = {c.id: [] for c in rows}
    if rows:
        links = await CaseParty.filter(case_id__in=list(parties)).prefetch_related("party").order_by("id")
        for link in links:
            parties[link.case_id].append(link.party)
    return rows, parties, total


async def move_case(case: Case, action: str) -> None:
    """Apply one CASE transition; the caller holds the case row (select_for_update) in its transaction."""
    case.status = CASE.next(case.status, action)
    await case.save(update_fields=["status", "updated_at"])


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
            case = await Case.filter(id=case.id).select_for_update().get()
            await move_case(case, "decide")
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
