"""Cases and their parties; the agency's notices to them (R-N4). Decisions: ``services/decisions.py``.

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
from backend.models import Agency, Case, CaseParty, Party
from backend.models.enums import CaseStatus, CaseType, NotificationEvent, PartyKind, RecordStep
from backend.services import audit, masking
from backend.services.records import entries as records
from backend.services.scope import scoped, visible_one
from backend.services.states import CASE
from backend.settings import Settings
from notifications import outgoing, templates
from notifications.outgoing import EventResult


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


def new_binding_code() -> str:
    """10 hexadecimal characters (40 random bits), printed on the paperwork; stored only hashed."""
    return secrets.token_hex(5).upper()


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
                                               phone=p.get("phone"), id_number=p.get("id_number"),
                                               is_minor=bool(p.get("is_minor")))
                    code = new_binding_code()
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


async def send_notice(settings: Settings, clock: Clock, agency_id: uuid.UUID, case_id: uuid.UUID,
                      text: str, actor: str) -> EventResult:
    """An agency's own notice to every party of a case: a record entry and one message per party."""
    case = await get_case(agency_id, case_id)
    agency = await Agency.get(id=agency_id)
    # Every party gets the same message, so it carries the text masked as a public page would: an
    # agency typing a co-party's ID number or phone into a notice must not send it to the others.
    # The case's own record keeps the text as written.
    sent = masking.mask_text(text, await case_parties(case.id))
    ctx = {"agency": agency.name[:20], "case": case.number, "case_id": str(case.id), "text": sent,
           "date": clock.now().strftime("%Y-%m-%d %H:%M")}
    templates.check_notice_text(sent, ctx)  # refuse before writing anything
    async with in_transaction():
        case = await Case.filter(id=case_id).select_for_update().get()
        parties = await case_parties(case.id)
        unreachable = outgoing.unreachable_parties(parties)
        entry = await records.append(case, RecordStep.NOTICE,
                                     f"机构通知：{text}" + outgoing.unreachable_note(unreachable), actor, clock.now())
        ids = await outgoing.write(outgoing.plan(settings, NotificationEvent.AGENCY_NOTICE, f"record:{entry.id}",
                                                 agency_id, case, parties, ctx, clock.now()))
        await audit.record(actor, "case.notice", "case", case.id, agency_id=agency_id,
                           data={"notifications": len(ids), "unreachable": len(unreachable)})
    return EventResult(None, ids, unreachable)
