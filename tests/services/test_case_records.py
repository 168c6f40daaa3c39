"""The full-process record at the service level (R-R1..R-R3): each rule refuses what breaks it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Case, CaseRecord, Evidence, Officer
from backend.models.enums import (
    CaseStatus,
    EvidenceKind,
    OfficerKind,
    RecordStep,
    ServiceMethod,
    SignatureState,
)
from backend.services import cases, officers
from backend.services.disclosure import credentials, history
from backend.services.disclosure.verification import KeyStore
from backend.services.records import case_officers, entries
from tests.factories import an_agency, officer_body

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW - timedelta(days=30))


class World:
    def __init__(self, case: Case, team: list[Officer], clock: FrozenClock, keys: KeyStore) -> None:
        self.case, self.team, self.clock, self.keys = case, team, clock, keys

    def step(self, step: RecordStep = RecordStep.INVESTIGATION, **changes) -> entries.StepInput:  # type: ignore[no-untyped-def]
        fields = dict(step=step, occurred_at=NOW, place="西湖区某路1号", officer_ids=[o.id for o in self.team[:2]],
                      credential_shown=True, text="检查经营场所。", party_signature=SignatureState.NOT_REQUIRED,
                      refusal_note="", evidence_ids=[])
        fields.update(changes)
        return entries.StepInput(**fields)  # type: ignore[arg-type]

    async def add(self, data: entries.StepInput) -> CaseRecord:
        self.clock.at = NOW
        return await entries.add_step(self.case, data, "test", self.clock)

    async def evidence(self, kind: EvidenceKind) -> Evidence:
        n = await Evidence.filter(case_id=self.case.id).count() + 1
        return await Evidence.create(case_id=self.case.id, number=f"{self.case.number}-{kind.value}-{n}", kind=kind,
                                     captured_at=NOW, sha256="0" * 64, size_bytes=1)


async def a_world(db, frozen: FrozenClock, case_type: str = "penalty", officers_n: int = 3) -> World:  # type: ignore[no-untyped-def]
    agency = (await an_agency()).agency
    keys = KeyStore(db.data_dir)
    team = []
    for i in range(officers_n):
        officer = await officers.create_officer(agency.id, officer_body(name=f"执法员{i}"), "test")
        await credentials.issue(agency.id, officer.id, valid_from=None, valid_until=date(2028, 12, 31), actor="test",
                                keys=keys, clock=frozen)
        team.append(officer)
    case, _ = await cases.create_case(agency.id, {"title": "无照经营", "type": case_type,
                                                  "parties": [{"kind": "person", "name": "李四"}]}, "test", frozen)
    await case_officers.assign(case, team[0].id, [o.id for o in team[1:]], "test")
    return World(case, team, frozen, keys)


async def test_a_field_step_of_a_penalty_case_needs_two_enforcement_officers(db, frozen):
    world = await a_world(db, frozen)
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(officer_ids=[world.team[0].id]))
    assert exc.value.code == "officers_insufficient"
    row = await world.add(world.step())
    assert [o["credential_valid"] for o in row.officers] == [True, True]
    assert (await Case.get(id=world.case.id)).status is CaseStatus.INVESTIGATING


async def test_auxiliary_staff_do_not_count_towards_the_two(db, frozen):
    world = await a_world(db, frozen, officers_n=1)
    helper = await officers.create_officer(world.case.agency_id, officer_body(
        name="辅助员", kind=OfficerKind.AUXILIARY.value, certificate_no=None), "test")
    await case_officers.assign(world.case, None, [helper.id], "test")
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(officer_ids=[world.team[0].id, helper.id]))
    assert exc.value.code == "officers_insufficient"


async def test_an_inspection_case_step_may_be_done_by_one_officer_but_a_seizure_never(db, frozen):
    world = await a_world(db, frozen, case_type="inspection")
    await world.add(world.step(officer_ids=[world.team[0].id]))
    av = await world.evidence(EvidenceKind.AUDIO_VIDEO)
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(RecordStep.SEIZURE, officer_ids=[world.team[0].id], evidence_ids=[av.id],
                                   party_signature=SignatureState.SIGNED))
    assert exc.value.code == "officers_insufficient"


async def test_a_card_suspended_before_the_step_does_not_count_one_suspended_after_does(db, frozen):
    world = await a_world(db, frozen)
    card = (await credentials.list_for_officer(None, world.team[1].id))[0]
    frozen.at = NOW + timedelta(hours=1)  # suspended an hour after the step: it was valid then
    await credentials.change(None, card.id, "suspend", actor="test", reason="调查", clock=frozen)
    assert (await history.valid_at([card.id], NOW)) == {card.id: True}
    await world.add(world.step())
    frozen.at = NOW - timedelta(hours=1)  # and a step an hour before: fine; later steps are not
    await credentials.change(None, card.id, "reinstate", actor="test", reason="", clock=frozen)
    frozen.at = NOW + timedelta(hours=2)
    await credentials.change(None, card.id, "suspend", actor="test", reason="再次调查", clock=frozen)
    later = world.step(occurred_at=NOW + timedelta(hours=3))
    with pytest.raises(ValidationFailed) as exc:
        world.clock.at = NOW + timedelta(hours=3)
        await entries.add_step(world.case, later, "test", world.clock)
    assert exc.value.code == "credential_not_valid" and world.team[1].name in exc.value.message


async def test_a_step_before_the_card_was_issued_does_not_count_it(db, frozen):
    world = await a_world(db, frozen)
    before_issue = NOW - timedelta(days=31)
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(occurred_at=before_issue))
    assert exc.value.code == "credential_not_valid"


async def test_records_touching_the_partys_rights_need_a_signature_or_a_noted_refusal(db, frozen):
    world = await a_world(db, frozen)
    for step in (RecordStep.ON_SITE, RecordStep.INTERVIEW, RecordStep.HEARING):
        with pytest.raises(ValidationFailed) as exc:
            await world.add(world.step(step))
        assert exc.value.code == "signature_required"
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(RecordStep.INTERVIEW, party_signature=SignatureState.REFUSED))
    assert exc.value.code == "refusal_note_required"
    row = await world.add(world.step(RecordStep.INTERVIEW, party_signature=SignatureState.REFUSED,
                                     refusal_note="当事人拒绝签名，两名执法人员在场见证。"))
    assert row.signature is SignatureState.REFUSED


async def test_seizure_and_forced_execution_need_an_audio_video_record(db, frozen):
    world = await a_world(db, frozen)
    photo = await world.evidence(EvidenceKind.PHOTO)
    for step in (RecordStep.SEIZURE, RecordStep.FORCED_EXECUTION, RecordStep.LIBERTY_RESTRICTION):
        with pytest.raises(ValidationFailed) as exc:
            await world.add(world.step(step, party_signature=SignatureState.SIGNED, evidence_ids=[photo.id]))
        assert exc.value.code == "av_required"
    av = await world.evidence(EvidenceKind.AUDIO_VIDEO)
    row = await world.add(world.step(RecordStep.SEIZURE, party_signature=SignatureState.SIGNED,
                                     evidence_ids=[av.id]))
    assert row.evidence_ids == [str(av.id)]


async def test_a_recommended_video_that_is_missing_shows_on_the_timeline(db, frozen):
    world = await a_world(db, frozen)
    await world.add(world.step(RecordStep.SERVICE, service_method=ServiceMethod.LIEN))
    await world.add(world.step(RecordStep.SERVICE, service_method=ServiceMethod.DIRECT))
    flags = [(e.record.step, e.av_recommended_missing) for e in await entries.timeline(world.case.id)]
    assert flags[-2:] == [(RecordStep.SERVICE, True), (RecordStep.SERVICE, False)]


async def test_evidence_of_another_case_and_officers_not_on_the_case_are_refused(db, frozen):
    world = await a_world(db, frozen)
    other = await a_world(db, frozen)
    theirs = await other.evidence(EvidenceKind.PHOTO)
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(evidence_ids=[theirs.id]))
    assert exc.value.code == "evidence_not_found"
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(officer_ids=[world.team[0].id, other.team[0].id]))
    assert exc.value.code == "officer_not_on_case"


async def test_a_record_is_never_changed_a_correction_names_it_and_a_closed_case_takes_only_corrections(db, frozen):
    world = await a_world(db, frozen)
    first = await world.add(world.step(text="检查时间记错"))
    fix = await world.add(world.step(text="更正：检查时间为十点", corrects=first.id))
    assert (await CaseRecord.get(id=first.id)).text == "检查时间记错"
    timeline = await entries.timeline(world.case.id)
    assert next(e for e in timeline if e.record.id == first.id).corrected_by == [fix.id]
    await world.add(world.step(RecordStep.CLOSURE, officer_ids=[world.team[0].id]))
    assert (await Case.get(id=world.case.id)).status is CaseStatus.CLOSED
    with pytest.raises(Conflict) as exc:
        await world.add(world.step())
    assert exc.value.code == "case_closed"
    await world.add(world.step(text="更正：地点为某路2号", corrects=first.id))
    with pytest.raises(NotFound):
        await world.add(world.step(text="更正", corrects=10**9))


async def test_a_step_in_the_future_and_service_written_steps_are_refused(db, frozen):
    world = await a_world(db, frozen)
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(occurred_at=NOW + timedelta(hours=1)))
    assert exc.value.code == "occurred_in_future"
    with pytest.raises(ValidationFailed) as exc:
        await world.add(world.step(RecordStep.PUBLICATION))
    assert exc.value.code == "step_not_allowed"


async def test_records_say_who_wrote_them(db, frozen):
    world = await a_world(db, frozen)
    row = await world.add(world.step())
    assert (row.actor, row.actor_name) == ("test", "test")
