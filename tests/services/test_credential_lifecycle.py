"""The credential lifecycle without HTTP: the CREDENTIAL table decides, the history records when and
who, and the status a card shows follows its dates (R-C2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, IllegalTransition, ValidationFailed
from backend.models import Credential, CredentialEvent
from backend.models.enums import CredentialStatus, OfficerStatus
from backend.services import officers
from backend.services.disclosure import credentials, history
from backend.services.disclosure.status import effective_status
from backend.services.disclosure.verification import KeyStore
from tests.factories import an_agency, officer_body

C = CredentialStatus
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(START)


async def a_card(db, frozen, **issue):  # type: ignore[no-untyped-def]
    agency = (await an_agency()).agency
    officer = await officers.create_officer(agency.id, officer_body(), "key:test")
    cred, _ = await credentials.issue(agency.id, officer.id, valid_from=issue.get("valid_from"),
                                      valid_until=issue.get("valid_until", date(2027, 12, 31)), actor="key:test",
                                      keys=KeyStore(db.data_dir), clock=frozen)
    return agency, officer, cred


async def test_every_change_is_in_the_history_with_its_time_and_actor(db, frozen):
    agency, _, cred = await a_card(db, frozen)
    frozen.advance(days=1)
    await credentials.change(agency.id, cred.id, "suspend", actor="key:test", reason="涉嫌违纪", clock=frozen)
    frozen.advance(days=1)
    await credentials.change(agency.id, cred.id, "reinstate", actor="key:test", reason="", clock=frozen)
    events = await CredentialEvent.filter(credential_id=cred.id).order_by("id")
    assert [(e.action, e.status_after, e.at) for e in events] == [
        ("issue", C.VALID, START), ("suspend", C.SUSPENDED, START + timedelta(days=1)),
        ("reinstate", C.VALID, START + timedelta(days=2))]
    assert events[1].reason == "涉嫌违纪"
    in_force = [(await history.valid_at([cred.id], START + timedelta(days=d, hours=1)))[cred.id] for d in (0, 1, 2)]
    assert in_force == [True, False, True]


async def test_suspending_and_revoking_need_a_reason_and_the_table_refuses_illegal_moves(db, frozen):
    agency, _, cred = await a_card(db, frozen)
    with pytest.raises(ValidationFailed) as exc:
        await credentials.change(agency.id, cred.id, "suspend", actor="t", reason="  ", clock=frozen)
    assert exc.value.code == "reason_required"
    with pytest.raises(IllegalTransition) as illegal:
        await credentials.change(agency.id, cred.id, "reinstate", actor="t", reason="", clock=frozen)
    assert illegal.value.code == "credential_reinstate_not_allowed"
    await credentials.change(agency.id, cred.id, "revoke", actor="t", reason="调离执法岗位", clock=frozen)
    with pytest.raises(IllegalTransition):
        await credentials.change(agency.id, cred.id, "suspend", actor="t", reason="再次", clock=frozen)


async def test_another_agency_cannot_touch_a_card_but_the_supervisor_may(db, frozen):
    _, _, cred = await a_card(db, frozen)
    other = (await an_agency("乙局")).agency
    with pytest.raises(Exception) as exc:
        await credentials.change(other.id, cred.id, "suspend", actor="t", reason="越权", clock=frozen)
    assert getattr(exc.value, "code", "") == "credential_not_found"
    await credentials.change(None, cred.id, "suspend", actor="t", reason="司法局暂扣", clock=frozen)
    assert (await Credential.get(id=cred.id)).status is C.SUSPENDED


async def test_reissue_voids_the_old_card_and_keeps_a_suspension(db, frozen):
    agency, _, cred = await a_card(db, frozen)
    await credentials.change(agency.id, cred.id, "suspend", actor="t", reason="调查", clock=frozen)
    new, token = await credentials.reissue(agency.id, cred.id, actor="t", reason="遗失", valid_until=None,
                                           keys=KeyStore(db.data_dir), clock=frozen)
    old = await Credential.get(id=cred.id)
    assert (old.status, old.replaced_by_id, new.status) == (C.VOID, new.id, C.SUSPENDED)
    assert token and new.token_hash != old.token_hash


async def test_a_second_current_card_is_refused_and_a_departed_officer_loses_every_card(db, frozen):
    agency, officer, cred = await a_card(db, frozen)
    with pytest.raises(Conflict) as exc:
        await credentials.issue(agency.id, officer.id, valid_from=None, valid_until=date(2027, 1, 1), actor="t",
                                keys=KeyStore(db.data_dir), clock=frozen)
    assert exc.value.code == "credential_exists"
    frozen.advance(hours=5)
    _, voided = await officers.update_officer(agency.id, officer.id, {"status": OfficerStatus.DEPARTED},
                                              "t", frozen)
    assert voided == 1 and (await Credential.get(id=cred.id)).status is C.VOID
    assert not (await history.valid_at([cred.id], frozen.now()))[cred.id]
    assert (await history.valid_at([cred.id], START + timedelta(hours=1)))[cred.id]  # it was, before


async def test_expiry_is_persisted_once_and_shown_from_the_dates_before_that(db, frozen):
    _, _, cred = await a_card(db, frozen, valid_until=date(2026, 3, 10))
    assert effective_status(C.VALID, cred.valid_from, cred.valid_until, date(2026, 3, 11)) is C.EXPIRED
    frozen.at = START + timedelta(days=9)
    assert await credentials.expire_due(frozen) == 1
    assert await credentials.expire_due(frozen) == 0  # running twice is harmless
    assert (await Credential.get(id=cred.id)).status is C.EXPIRED
    assert await CredentialEvent.filter(credential_id=cred.id, action="expire").count() == 1


async def test_a_card_dated_from_next_week_is_not_yet_valid_and_not_in_force(db, frozen):
    _, _, cred = await a_card(db, frozen, valid_from=date(2026, 3, 9))
    assert effective_status(cred.status, cred.valid_from, cred.valid_until, frozen.today()) is C.NOT_YET_VALID
    assert not (await history.valid_at([cred.id], frozen.now()))[cred.id]
    assert (await history.valid_at([cred.id], START + timedelta(days=7)))[cred.id]
