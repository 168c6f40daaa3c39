"""The parties' mini-program at the service level: sessions, single-use binding, SMS binding and its
limits, what a party sees of their case, and the deadlines that matter to them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime

import pytest
from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, NotFound, RateLimited
from backend.models import Case, CaseParty, Decision, DecisionVersion, Notification, Party, PartyBinding
from backend.models.enums import (
    BindingEnd,
    CaseType,
    ChannelPreference,
    DecisionStatus,
    DecisionVersionKind,
    NotificationChannel,
    NotificationEvent,
    RecordStep,
)
from backend.services import cases
from backend.services.calendar import Calendar, add_months
from backend.services.parties import bindings, deadlines, progress, sessions
from backend.services.parties.sessions import PartySession
from backend.services.records import entries
from backend.settings import Settings
from notifications import outgoing
from tests.factories import an_agency

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # a Friday


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


async def a_case(clock: FrozenClock, *phones: str | None, agency_id: uuid.UUID | None = None,
                 case_type: str = "penalty", title: str = "某餐饮店未按规定公示许可证案"
                 ) -> tuple[Case, list[tuple[Party, str]]]:
    if agency_id is None:
        agency_id = (await an_agency()).agency.id
    parties = [{"kind": "person", "name": f"当事人{i}", "phone": phone}
               for i, phone in enumerate(phones or ("13900001111",))]
    return await cases.create_case(agency_id, {"title": title, "type": case_type, "parties": parties}, "test", clock)


async def a_session(settings: Settings, clock: FrozenClock, openid: str) -> PartySession:
    issued = await sessions.sign_in(openid, sandbox=False, settings=settings, clock=clock)
    session = await sessions.authenticate(issued.token, settings, clock)
    assert session is not None
    return session


# --- sessions ----------------------------------------------------------------------------------------


async def test_a_session_is_opaque_stored_hashed_expires_by_the_clock_and_is_revocable(db, frozen):
    issued = await sessions.sign_in("o_alice", sandbox=False, settings=db, clock=frozen)
    assert sessions.TOKEN_SHAPE.fullmatch(issued.token) and issued.expires_in == db.mp_session_ttl
    from backend.models import MpSession

    row = await MpSession.get(openid="o_alice")
    assert row.token_hash == sessions.token_hash(issued.token) and issued.token not in str(row.__dict__)
    assert (await sessions.authenticate(issued.token, db, frozen)).openid == "o_alice"  # type: ignore[union-attr]
    forged = issued.token[:-1] + ("B" if issued.token.endswith("A") else "A")  # one character off
    assert await sessions.authenticate(forged, db, frozen) is None
    assert await sessions.authenticate("mps_short", db, frozen) is None

    frozen.advance(seconds=db.mp_session_ttl - 1)
    assert await sessions.authenticate(issued.token, db, frozen) is not None
    frozen.advance(seconds=1)
    assert await sessions.authenticate(issued.token, db, frozen) is None  # expired

    second = await sessions.sign_in("o_alice", sandbox=False, settings=db, clock=frozen)
    live = await sessions.authenticate(second.token, db, frozen)
    assert live is not None
    await sessions.revoke(live, frozen)
    assert await sessions.authenticate(second.token, db, frozen) is None


async def test_a_sandbox_session_dies_the_moment_credentials_are_configured(db, frozen):
    issued = await sessions.sign_in("sandbox-1", sandbox=True, settings=db, clock=frozen)
    assert (await sessions.authenticate(issued.token, db, frozen)).sandbox  # type: ignore[union-attr]
    with_sms = replace(db, aliyun_access_key_id="ak", aliyun_access_key_secret="s", aliyun_sms_sign_name="阳光执法")
    with_wechat = replace(db, wechat_appid="wx1", wechat_secret="s")
    for configured in (with_sms, with_wechat):
        assert not sessions.sandbox_allowed(configured)
        assert await sessions.authenticate(issued.token, configured, frozen) is None
        with pytest.raises(RuntimeError):
            await sessions.sign_in("sandbox-2", sandbox=True, settings=configured, clock=frozen)


# --- binding by code ---------------------------------------------------------------------------------


async def test_a_binding_code_works_once_and_nobody_takes_the_party_over_with_it(db, frozen):
    case, [(party, code)] = await a_case(frozen, "13900001111")
    alice, mallory = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_mallory")
    bound = await bindings.bind_with_code(alice, case.number, code, db, frozen)
    assert bound.case.id == case.id and bound.binding.openid == "o_alice"

    # The party is told by SMS on the phone the agency recorded.
    [told] = await Notification.filter(id__in=bound.notification_ids)
    assert told.event is NotificationEvent.BINDING_CHANGED and told.channel is NotificationChannel.SMS
    assert told.recipient == "13900001111" and case.number in told.content

    with pytest.raises(Conflict) as used:
        await bindings.bind_with_code(mallory, case.number, code, db, frozen)
    assert used.value.code == "binding_code_used"
    with pytest.raises(Conflict):  # not even the same person: the code is spent
        await bindings.bind_with_code(alice, case.number, code, db, frozen)
    assert (await Party.get(id=party.id)).wechat_openid == "o_alice"
    assert [b.openid for b in await PartyBinding.filter(party_id=party.id, ended_at__isnull=True)] == ["o_alice"]
    assert await progress.my_cases(mallory) == []


async def test_unbinding_sends_the_messages_back_to_sms_and_tells_the_party(db, frozen):
    case, [(party, code)] = await a_case(frozen, "13900001111")
    other, _ = await a_case(frozen, "13900002222")
    alice, mallory = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_mallory")
    await bindings.bind_with_code(alice, case.number, code, db, frozen)
    await progress.set_preferences(alice, case.id, channel=ChannelPreference.WECHAT, wechat_consent=True)
    assert outgoing.channel_for(await Party.get(id=party.id)) is NotificationChannel.WECHAT

    for who, case_id in ((mallory, case.id), (alice, other.id), (alice, uuid.uuid4())):  # not their binding
        with pytest.raises(NotFound) as refused:
            await bindings.unbind(who, case_id, db, frozen)
        assert refused.value.code == "case_not_found"
    later = FrozenClock(NOW.replace(hour=15))
    unbound = await bindings.unbind(alice, case.id, db, later)
    assert unbound.parties == 1
    # The party's messages go back to SMS on the recorded phone, and the party is told there.
    assert outgoing.channel_for(await Party.get(id=party.id)) is NotificationChannel.SMS
    [told] = await Notification.filter(id__in=unbound.notification_ids)
    assert told.event is NotificationEvent.BINDING_ENDED and told.channel is NotificationChannel.SMS
    assert told.recipient == "13900001111" and case.number in told.content and "2026-11-20 15:00" in told.content
    [ended] = await PartyBinding.filter(party_id=party.id)
    assert (ended.ended_at, ended.ended_reason) == (later.now(), BindingEnd.UNBOUND)
    assert await progress.my_cases(alice) == []
    with pytest.raises(NotFound):  # once: a second unbind finds nothing, and tells nobody again
        await bindings.unbind(alice, case.id, db, later)
    assert await Notification.filter(event=NotificationEvent.BINDING_ENDED).count() == 1
    from backend.models import AuditEvent

    [entry] = await AuditEvent.filter(action="party.unbind")
    assert entry.actor == alice.actor


async def test_wrong_pairs_get_one_uniform_not_found(db, frozen):
    case, [(_, code)] = await a_case(frozen)
    other, [(_, other_code)] = await a_case(frozen)
    alice = await a_session(db, frozen, "o_alice")
    for number, attempt in [(case.number, "0000000000"), (other.number, code), ("2026-NOSUCH", code),
                            (case.number, other_code)]:
        with pytest.raises(NotFound) as missing:
            await bindings.bind_with_code(alice, number, attempt, db, frozen)
        assert (missing.value.code, missing.value.message) == ("binding_not_found", "案件编号或验证码不正确")
    assert not await PartyBinding.all().exists()


async def test_the_agency_reissuing_a_code_ends_the_binding_and_the_old_code(db, frozen):
    case, [(party, code)] = await a_case(frozen)
    alice, bob = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_bob")
    await bindings.bind_with_code(alice, case.number, code, db, frozen)
    frozen.advance(hours=1)
    new_code, ended = await bindings.reissue_code(case.agency_id, case.id, party.id, "test", frozen)
    assert ended and new_code != code
    assert (await Party.get(id=party.id)).wechat_openid is None  # messages back to SMS
    [old] = await PartyBinding.filter(party_id=party.id)
    assert old.ended_reason is BindingEnd.REISSUED and old.ended_at == frozen.now()
    assert await progress.my_cases(alice) == []
    with pytest.raises(NotFound):
        await progress.case_view(alice, case.id, frozen)
    with pytest.raises(NotFound):
        await bindings.bind_with_code(bob, case.number, code, db, frozen)  # the old code is gone
    await bindings.bind_with_code(bob, case.number, new_code, db, frozen)
    assert [c.id for c in await progress.my_cases(bob)] == [case.id]
    # Only the case's own agency, and only a party of that case.
    other = await an_agency()
    with pytest.raises(NotFound):
        await bindings.reissue_code(other.agency.id, case.id, party.id, "test", frozen)
    with pytest.raises(NotFound):
        await bindings.reissue_code(case.agency_id, case.id, uuid.uuid4(), "test", frozen)


# --- binding by SMS ----------------------------------------------------------------------------------


async def test_an_sms_code_binds_only_the_session_that_asked_and_spends_the_paper_code(db, frozen):
    case, [(party, code)] = await a_case(frozen, "139 0000 2222")
    alice, mallory = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_mallory")
    assert await bindings.request_sms_code(alice, case.number, "13900003333", db, frozen) == []  # not theirs
    frozen.advance(minutes=1)
    [nid] = await bindings.request_sms_code(alice, case.number, "+8613900002222", db, frozen)
    sent = await Notification.get(id=nid)
    secret = sent.params["vars"]["code"]
    assert sent.event is NotificationEvent.BINDING_SMS_CODE and sent.recipient == "139 0000 2222"
    assert secret not in sent.content and "******" in sent.content  # the delivery log never shows it

    with pytest.raises(NotFound):  # another session cannot use it
        await bindings.bind_with_sms(mallory, case.number, secret, db, frozen)
    await bindings.bind_with_sms(alice, case.number, secret, db, frozen)
    assert (await Party.get(id=party.id)).wechat_openid == "o_alice"
    with pytest.raises(Conflict):  # once bound, the paper code no longer binds anyone
        await bindings.bind_with_code(mallory, case.number, code, db, frozen)


async def test_an_sms_code_has_five_tries_and_five_minutes(db, frozen):
    case, _ = await a_case(frozen, "13900004444")
    alice = await a_session(db, frozen, "o_alice")
    [nid] = await bindings.request_sms_code(alice, case.number, "13900004444", db, frozen)
    secret = (await Notification.get(id=nid)).params["vars"]["code"]
    wrong = f"{(int(secret) + 1) % 10**6:06d}"
    for _ in range(bindings.SMS_CODE_TRIES):
        with pytest.raises(NotFound):
            await bindings.bind_with_sms(alice, case.number, wrong, db, frozen)
    with pytest.raises(NotFound):  # the right code, too late: the tries are spent
        await bindings.bind_with_sms(alice, case.number, secret, db, frozen)

    frozen.advance(minutes=1)
    [nid] = await bindings.request_sms_code(alice, case.number, "13900004444", db, frozen)
    secret = (await Notification.get(id=nid)).params["vars"]["code"]
    frozen.advance(minutes=bindings.SMS_CODE_MINUTES, seconds=1)
    with pytest.raises(NotFound):
        await bindings.bind_with_sms(alice, case.number, secret, db, frozen)


async def test_proving_the_phone_takes_the_party_back_and_the_party_is_told(db, frozen):
    case, [(party, code)] = await a_case(frozen, "13900005555")
    mallory, owner = await a_session(db, frozen, "o_mallory"), await a_session(db, frozen, "o_owner")
    await bindings.bind_with_code(mallory, case.number, code, db, frozen)  # saw the paperwork first
    [nid] = await bindings.request_sms_code(owner, case.number, "13900005555", db, frozen)
    secret = (await Notification.get(id=nid)).params["vars"]["code"]
    bound = await bindings.bind_with_sms(owner, case.number, secret, db, frozen)
    assert (await Party.get(id=party.id)).wechat_openid == "o_owner"
    assert (await PartyBinding.get(openid="o_mallory")).ended_reason is BindingEnd.REPLACED
    assert await progress.my_cases(mallory) == []
    told = await Notification.filter(party_id=party.id, event=NotificationEvent.BINDING_CHANGED).count()
    assert told == 2 and bound.notification_ids  # once per new binding


async def test_sms_codes_to_one_number_are_limited_to_1_a_minute_5_an_hour_10_a_day(db, frozen):
    case, _ = await a_case(frozen, "13900006666")
    alice = await a_session(db, frozen, "o_alice")

    async def ask(phone: str = "13900006666") -> None:
        await bindings.request_sms_code(alice, case.number, phone, db, frozen)

    await ask()
    with pytest.raises(RateLimited) as limited:
        await ask()
    assert limited.value.code == "sms_code_rate_limited" and 0 < limited.value.retry_after <= 60
    with pytest.raises(RateLimited):  # a number that is not the party's counts the same: no oracle
        await ask("13900006666")
    for _ in range(4):
        frozen.advance(minutes=1)
        await ask()
    frozen.advance(minutes=1)
    with pytest.raises(RateLimited):  # 5 in the hour
        await ask()
    for _ in range(5):
        frozen.advance(minutes=61)
        await ask()
    frozen.advance(minutes=61)
    with pytest.raises(RateLimited):  # 10 in the day
        await ask()
    frozen.advance(hours=24)
    await ask()
    # An unknown number is limited exactly like a known one.
    await ask("13900007777")
    with pytest.raises(RateLimited):
        await ask("13900007777")


# --- what the party sees -----------------------------------------------------------------------------


async def _record(case: Case, step: RecordStep, at: datetime, text: str = "内部说明：线人张某提供线索") -> None:
    async with in_transaction():
        locked = await Case.filter(id=case.id).select_for_update().get()
        await entries.append(locked, step, text, "test", at, place="某路1号",
                             officers=[{"name": "执法员甲", "certificate_no": "33010001"}])


async def _decision(case: Case, decided_at: date, text: str, *, status: DecisionStatus) -> Decision:
    d = await Decision.create(case_id=case.id, agency_id=case.agency_id, type=case.type,
                              document_no=f"杭西罚〔2026〕{uuid.uuid4().hex[:4]}号", summary="原文（未脱敏）",
                              decided_at=decided_at, status=status)
    if status is not DecisionStatus.DRAFT:
        await DecisionVersion.create(decision=d, version=1, kind=DecisionVersionKind.PUBLISH, public_text=text,
                                     actor="test")
    return d


async def test_a_party_sees_milestones_decisions_their_own_notices_and_never_internal_work(db, frozen):
    case, [(p0, c0), (_, c1)] = await a_case(frozen, "13900008881", "13900008882",
                                              title="当事人0、当事人1无证经营案")
    alice, bob = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_bob")
    await bindings.bind_with_code(alice, case.number, c0, db, frozen)
    await bindings.bind_with_code(bob, case.number, c1, db, frozen)
    for step in (RecordStep.INVESTIGATION, RecordStep.INTERVIEW, RecordStep.LEGAL_REVIEW, RecordStep.SEIZURE,
                 RecordStep.DECISION):
        await _record(case, step, NOW)
    await _decision(case, date(2026, 11, 19), "对当事人0作出警告。", status=DecisionStatus.PUBLISHED)

    view = await progress.case_view(alice, case.id, frozen)
    assert [p.id for p in view.parties] == [p0.id]
    assert view.case.title == "当事人0、当*无证经营案"  # the other party masked, one's own name kept
    # Two parties: a seizure may be the other party's, internal work is never shown.
    assert [s.step for s in view.steps] == [RecordStep.START, RecordStep.DECISION]
    assert all(s.officers == [{"name": "执法员甲", "certificate_no": "33010001"}] for s in view.steps[1:])
    assert not any("线人" in str(s) or "某路" in str(s) for s in view.steps)
    [decision] = view.decisions
    assert decision.versions[0].public_text == "对当事人0作出警告。" and "原文" not in str(decision)
    # Only her own messages: the SMS that told her of her binding, not Bob's.
    assert [n.event for n in view.notices] == [NotificationEvent.BINDING_CHANGED]
    assert {n.id for n in view.notices} == set(await Notification.filter(party_id=p0.id).values_list("id", flat=True))

    with pytest.raises(NotFound) as missing:
        await progress.case_view(alice, uuid.uuid4(), frozen)
    assert missing.value.code == "case_not_found"
    other, [(_, oc)] = await a_case(frozen)
    await bindings.bind_with_code(bob, other.number, oc, db, frozen)
    with pytest.raises(NotFound):
        await progress.case_view(alice, other.id, frozen)


async def test_with_one_party_the_acts_done_to_them_are_shown(db, frozen):
    case, [(_, code)] = await a_case(frozen)
    alice = await a_session(db, frozen, "o_alice")
    await bindings.bind_with_code(alice, case.number, code, db, frozen)
    for step in (RecordStep.EVIDENCE, RecordStep.NOTICE_OF_RIGHTS, RecordStep.SEIZURE, RecordStep.LEGAL_REVIEW):
        await _record(case, step, NOW)
    view = await progress.case_view(alice, case.id, frozen)
    assert [(s.step, s.label) for s in view.steps] == [(RecordStep.START, "受理/立案"),
                                                        (RecordStep.NOTICE_OF_RIGHTS, "告知"),
                                                        (RecordStep.SEIZURE, "查封扣押")]


async def test_deadlines_by_decision_type_from_the_case_dates_and_the_clock(db, frozen):
    case, [(_, code)] = await a_case(frozen)
    await Case.filter(id=case.id).update(measures=["fine"])
    alice = await a_session(db, frozen, "o_alice")
    await bindings.bind_with_code(alice, case.number, code, db, frozen)
    await _record(case, RecordStep.NOTICE_OF_RIGHTS, NOW)  # Friday 20 November 2026
    decision = await _decision(case, date(2026, 8, 31), "罚款。", status=DecisionStatus.DRAFT)
    view = await progress.case_view(alice, case.id, frozen)
    due = {d.deadline.kind: d for d in view.deadlines}
    assert due["statement"].deadline.due_on == date(2026, 11, 25)  # 3 working days: Mon, Tue, Wed
    assert due["hearing_request"].deadline.due_on == date(2026, 11, 27)  # 5 working days
    assert due["statement"].days_left == 5
    assert due["reconsideration"].deadline.due_on == date(2026, 10, 30)  # 60 calendar days
    assert due["litigation"].deadline.due_on == date(2027, 2, 28)  # 6 months, to the month's end
    assert due["reconsideration"].days_left < 0 and due["reconsideration"].deadline.decision_id == decision.id

    frozen.advance(days=3)
    view = await progress.case_view(alice, case.id, frozen)
    assert {d.deadline.kind: d.days_left for d in view.deadlines}["statement"] == 2


def test_deadline_rules_per_type():
    told, decided, did = date(2026, 11, 20), date(2026, 1, 31), uuid.uuid4()
    assert [d.kind for d in deadlines.before_decision(Calendar(), CaseType.PENALTY, [], told)] == ["statement"]
    assert [d.kind for d in deadlines.before_decision(Calendar(), CaseType.PENALTY, ["warning"], told)] == ["statement"]
    for measure in ("fine", "confiscation", "licence_revocation", "business_suspension"):
        found = deadlines.before_decision(Calendar(), CaseType.PENALTY, [measure], told)
        assert "hearing_request" in [d.kind for d in found]
    assert deadlines.before_decision(Calendar(), CaseType.PERMIT, ["fine"], told) == []
    assert [d.kind for d in deadlines.after_decision(CaseType.COERCION, decided, did)] == ["reconsideration",
                                                                                            "litigation"]
    assert deadlines.after_decision(CaseType.PERMIT, decided, did) == []
    assert deadlines.after_decision(CaseType.INSPECTION, decided, did) == []
    assert add_months(date(2026, 1, 31), 6) == date(2026, 7, 31)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)  # a leap year
    assert add_months(date(2026, 9, 15), 6) == date(2027, 3, 15)


async def test_the_party_sets_their_channel_and_wechat_consent(db, frozen):
    case, [(party, code)] = await a_case(frozen)
    alice, bob = await a_session(db, frozen, "o_alice"), await a_session(db, frozen, "o_bob")
    await bindings.bind_with_code(alice, case.number, code, db, frozen)
    assert outgoing.channel_for(await Party.get(id=party.id)) is NotificationChannel.WECHAT
    [mine] = await progress.set_preferences(alice, case.id, channel=None, wechat_consent=False)
    assert mine.wechat_consent is False
    assert outgoing.channel_for(await Party.get(id=party.id)) is NotificationChannel.SMS
    await progress.set_preferences(alice, case.id, channel=ChannelPreference.NONE, wechat_consent=None)
    assert outgoing.unreachable_reason(await Party.get(id=party.id)) == outgoing.OPTED_OUT
    with pytest.raises(NotFound):
        await progress.set_preferences(bob, case.id, channel=ChannelPreference.SMS, wechat_consent=None)
    assert (await Party.get(id=party.id)).channel_preference is ChannelPreference.NONE
    link = await CaseParty.get(party_id=party.id)
    assert link.binding_code_used_at is not None

