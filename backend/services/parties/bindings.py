"""Binding a signed-in WeChat user to one party of one case, and the rules that keep it theirs.

- A binding code works once: the first binding of the party, by code or by SMS, spends it (a guarded
  update, so two simultaneous uses cannot both win), and every later use is ``409 binding_code_used``.
  Only the agency opens the party to a new binding, by issuing a new code, which ends the old binding.
- Wrong (case number, code) pairs get one uniform ``404 binding_not_found``; the handlers charge
  every attempt to the per-session and per-client limits first (``ratelimit.BINDING_*``).
- By SMS: a 6-digit code goes to the phone the agency recorded, usable only by the session that asked
  for it, for ``SMS_CODE_MINUTES`` and ``SMS_CODE_TRIES`` tries; 1 a minute, 5 an hour, 10 a day per
  number (``ratelimit.BINDING_SMS_PER_NUMBER``). The answer to the request is the same whether or
  not the number belongs to the case. Proving the phone may replace another WeChat user's binding.
- A party's messages never move silently: every new binding sends an SMS to the recorded phone, and
  so does the end of one by the signed-in person (``unbind``: messages go back to SMS).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound
from backend.models import Agency, BindingSmsCode, Case, CaseParty, Party, PartyBinding
from backend.models.enums import BindingEnd, BindingMethod, NotificationEvent
from backend.services import audit
from backend.services.cases import binding_code_hash, get_case, new_binding_code
from backend.services.parties.sessions import PartySession
from backend.services.ratelimit import BINDING_SMS_PER_NUMBER
from backend.settings import Settings
from notifications import outgoing

SMS_CODE_MINUTES = 5
SMS_CODE_TRIES = 5
PARTY_ROLE = "party"  # the role audit entries of a signed-in party carry


@dataclass(frozen=True)
class Bound:
    case: Case
    agency_name: str
    binding: PartyBinding
    notification_ids: list[uuid.UUID] = field(default_factory=list)  # the SMS telling the party


def not_found() -> NotFound:
    return NotFound("案件编号或验证码不正确", code="binding_not_found")


def _case_number(value: str) -> str:
    return value.strip()


def phone_digits(phone: str) -> str:
    """A phone number as digits only, without a +86 prefix: how recorded and typed numbers compare."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _phone_hash(phone: str) -> str:
    return hashlib.sha256(("phone:" + phone_digits(phone)).encode()).hexdigest()


def _sms_code_hash(row_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{row_id}:{code}".encode()).hexdigest()


async def bind_with_code(session: PartySession, case_number: str, code: str, settings: Settings,
                         clock: Clock) -> Bound:
    """The party of ``case_number`` whose binding code this is, bound to the session's WeChat user."""
    digest = binding_code_hash(code)
    async with in_transaction():
        link = await CaseParty.filter(binding_code_hash=digest, case__number=_case_number(case_number)).first()
        if link is None:
            raise not_found()
        # Spend the code: only the first of two simultaneous uses finds it unspent.
        spent = await CaseParty.filter(id=link.id, binding_code_hash=digest,
                                       binding_code_used_at__isnull=True).update(binding_code_used_at=clock.now())
        if not spent:
            raise Conflict("该绑定码已使用；如需重新绑定，请通过短信验证或联系办案机关重新发放绑定码",
                           code="binding_code_used")
        return await _bind(link, session, BindingMethod.CODE, settings, clock)


async def request_sms_code(session: PartySession, case_number: str, phone: str, settings: Settings,
                           clock: Clock) -> list[uuid.UUID]:
    """Send a binding code to ``phone`` if it is the phone recorded for a party of ``case_number``.
    Counts against the number's limits either way; returns the outbox ids (none when nothing matched)."""
    now, digest = clock.now(), _phone_hash(phone)
    async with in_transaction():
        recent = await BindingSmsCode.filter(phone_hash=digest, created_at__gt=now - BINDING_SMS_PER_NUMBER.longest
                                             ).values_list("created_at", flat=True)
        BINDING_SMS_PER_NUMBER.check(recent, now)  # type: ignore[arg-type]
        link = await _party_with_phone(case_number, phone)
        row = BindingSmsCode(id=uuid.uuid4(), session_id=session.session_id, phone_hash=digest, code_hash="",
                             created_at=now, expires_at=now + timedelta(minutes=SMS_CODE_MINUTES),
                             case_party_id=link.id if link else None)
        if link is None:
            await row.save()
            return []
        code = f"{secrets.randbelow(10**6):06d}"
        row.code_hash = _sms_code_hash(row.id, code)
        await row.save()
        case = await Case.get(id=link.case_id)
        party = await Party.get(id=link.party_id)
        assert party.phone is not None
        n = outgoing.sms_to_phone(settings, NotificationEvent.BINDING_SMS_CODE, f"sms-code:{row.id}", case.agency_id,
                                  case, party, party.phone, {"case": case.number, "code": code,
                                                             "minutes": str(SMS_CODE_MINUTES)}, now)
        ids = await outgoing.write([n])
        await audit.record(session.actor, "party.binding_sms_code", "case", case.id, agency_id=case.agency_id,
                           role=PARTY_ROLE, data={"party_id": str(party.id)})
    return ids


async def _party_with_phone(case_number: str, phone: str) -> CaseParty | None:
    wanted = phone_digits(phone)
    links = await CaseParty.filter(case__number=_case_number(case_number)).prefetch_related("party")
    for link in links:
        if link.party.phone and phone_digits(link.party.phone) == wanted:
            return link
    return None


async def bind_with_sms(session: PartySession, case_number: str, sms_code: str, settings: Settings,
                        clock: Clock) -> Bound:
    """Bind with the code this session asked for; a wrong code spends one of its tries (written
    outside the binding's transaction, so the refusal's rollback cannot give the try back)."""
    now = clock.now()
    row = await BindingSmsCode.filter(
        session_id=session.session_id, used_at__isnull=True, expires_at__gt=now, case_party_id__isnull=False,
        case_party__case__number=_case_number(case_number)).order_by("-created_at").first()
    if row is None:
        raise not_found()
    spent_try = await BindingSmsCode.filter(id=row.id, attempts__lt=SMS_CODE_TRIES).update(attempts=F("attempts") + 1)
    if not spent_try or not secrets.compare_digest(row.code_hash, _sms_code_hash(row.id, sms_code.strip())):
        raise not_found()
    async with in_transaction():
        used = await BindingSmsCode.filter(id=row.id, used_at__isnull=True).update(used_at=now)
        if not used:
            raise not_found()
        link = await CaseParty.get(id=row.case_party_id)
        # The paper code is spent too: once the party is bound, nobody takes them over with it.
        await CaseParty.filter(id=link.id, binding_code_used_at__isnull=True).update(binding_code_used_at=now)
        return await _bind(link, session, BindingMethod.SMS, settings, clock)


async def _bind(link: CaseParty, session: PartySession, method: BindingMethod, settings: Settings,
                clock: Clock) -> Bound:
    """Inside the caller's transaction: end the party's other binding, bind this user, tell the party."""
    now = clock.now()
    party = await Party.filter(id=link.party_id).select_for_update().get()
    case = await Case.get(id=link.case_id)
    agency = await Agency.get(id=case.agency_id).values("name")
    active = await PartyBinding.filter(party_id=party.id, ended_at__isnull=True)
    mine = next((b for b in active if b.openid == session.openid), None)
    replaced = [b.id for b in active if b.openid != session.openid]
    if replaced:
        await PartyBinding.filter(id__in=replaced).update(ended_at=now, ended_reason=BindingEnd.REPLACED)
    if mine is not None:  # proving the phone again: the binding stays as it is
        return Bound(case, agency["name"], mine)
    binding = await PartyBinding.create(case_id=case.id, party_id=party.id, openid=session.openid, method=method,
                                        bound_at=now)
    party.wechat_openid = session.openid
    await party.save(update_fields=["wechat_openid"])
    ids: list[uuid.UUID] = []
    if party.phone:
        ctx = {"case": case.number, "agency": agency["name"][:20], "date": now.strftime("%Y-%m-%d %H:%M")}
        ids = await outgoing.write([outgoing.sms_to_phone(settings, NotificationEvent.BINDING_CHANGED,
                                                          f"binding:{binding.id}", case.agency_id, case, party,
                                                          party.phone, ctx, now)])
    await audit.record(session.actor, "party.bind", "case", case.id, agency_id=case.agency_id, role=PARTY_ROLE,
                       data={"party_id": str(party.id), "method": method.value, "replaced": len(replaced),
                             "sandbox": session.sandbox})
    return Bound(case, agency["name"], binding, ids)


@dataclass(frozen=True)
class Unbound:
    case: Case
    parties: int  # bindings this call ended (a person may be bound to several parties of a case)
    notification_ids: list[uuid.UUID] = field(default_factory=list)  # the SMS telling each party


async def unbind(session: PartySession, case_id: uuid.UUID, settings: Settings, clock: Clock) -> Unbound:
    """End the signed-in person's bindings to ``case_id``: the parties' messages go back to SMS to
    the recorded phones, and each party is told there. Not bound (or someone else's case): the same
    404 as reading it. The paper binding code stays spent: binding again takes the SMS code or a new
    code from the agency."""
    now = clock.now()
    async with in_transaction():
        active = await PartyBinding.filter(openid=session.openid, case_id=case_id, ended_at__isnull=True)
        # Each end is a guarded update: of two simultaneous unbinds, one ends it and tells the party.
        ended = [b for b in active if await PartyBinding.filter(id=b.id, ended_at__isnull=True).update(
            ended_at=now, ended_reason=BindingEnd.UNBOUND)]
        if not ended:
            raise NotFound("未找到该案件", code="case_not_found")
        case = await Case.get(id=case_id)
        agency = await Agency.get(id=case.agency_id).values("name")
        rows = []
        for b in ended:
            await Party.filter(id=b.party_id, wechat_openid=session.openid).update(wechat_openid=None)
            party = await Party.get(id=b.party_id)
            if party.phone:
                ctx = {"case": case.number, "agency": agency["name"][:20], "date": now.strftime("%Y-%m-%d %H:%M")}
                rows.append(outgoing.sms_to_phone(settings, NotificationEvent.BINDING_ENDED, f"unbind:{b.id}",
                                                  case.agency_id, case, party, party.phone, ctx, now))
            await audit.record(session.actor, "party.unbind", "case", case.id, agency_id=case.agency_id,
                               role=PARTY_ROLE, data={"party_id": str(b.party_id), "sandbox": session.sandbox})
        ids = await outgoing.write(rows)
    return Unbound(case, len(ended), ids)


async def scrub_sms_codes(clock: Clock) -> int:
    """No phone or code lingers (the ``scrub_sms_codes`` periodic job): a binding code spent or
    expired is blanked, here and in its SMS's params, once the SMS has finished; the row (with the
    number's hash) is deleted once the per-number limits no longer count it
    (``BINDING_SMS_PER_NUMBER.longest``). Returns rows blanked plus rows deleted."""
    now = clock.now()
    return await outgoing.scrub_codes(BindingSmsCode, NotificationEvent.BINDING_SMS_CODE, "sms-code:",
                                      spent=Q(expires_at__lte=now) | Q(used_at__isnull=False),
                                      requested_field="created_at",
                                      forget_before=now - BINDING_SMS_PER_NUMBER.longest)


async def reissue_code(agency_id: uuid.UUID, case_id: uuid.UUID, party_id: uuid.UUID, actor: str,
                       clock: Clock) -> tuple[str, bool]:
    """The agency issues a new binding code for a party: the old code stops working, the party's
    binding (if any) ends and their messages go back to SMS. Returns (the code, shown once; whether a
    binding ended)."""
    case = await get_case(agency_id, case_id)
    for _ in range(3):
        code = new_binding_code()
        try:
            async with in_transaction():
                link = await CaseParty.filter(case_id=case.id, party_id=party_id).select_for_update().first()
                if link is None:
                    raise NotFound("该案件没有这名当事人", code="party_not_found")
                now = clock.now()
                await CaseParty.filter(id=link.id).update(binding_code_hash=binding_code_hash(code),
                                                          binding_code_used_at=None)
                ended = await PartyBinding.filter(party_id=party_id, ended_at__isnull=True).update(
                    ended_at=now, ended_reason=BindingEnd.REISSUED)
                await Party.filter(id=party_id).update(wechat_openid=None)
                await BindingSmsCode.filter(case_party_id=link.id, used_at__isnull=True).update(used_at=now)
                await audit.record(actor, "party.binding_code.reissue", "case", case.id, agency_id=agency_id,
                                   data={"party_id": str(party_id), "ended_bindings": ended})
                return code, bool(ended)
        except IntegrityError:
            continue  # the new code's hash collided with another party's: draw again
    raise Conflict("无法生成绑定码，请重试", code="binding_code_exhausted")
