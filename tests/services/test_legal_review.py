"""Legal review of major decisions at the service level (R-L1..R-L6): each rule refuses what breaks it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from backend.models import Case, CaseRecord, Decision, LegalReview, LegalReviewEvent, Officer
from backend.models.enums import (
    CaseStatus,
    CaseType,
    Measure,
    OfficerKind,
    OfficerStatus,
    PartyKind,
    RecordStep,
    ReviewLevel,
    ReviewOutcome,
    ReviewStatus,
    Role,
    SignatureState,
)
from backend.services import agencies, audit, cases, decisions, officers
from backend.services.apikeys import KeyHolder, create_key
from backend.services.calendar import Deadline
from backend.services.records import case_officers
from backend.services.review import catalogue, deadlines, responsibility, reviews, staffing
from backend.services.transparency import log
from tests.factories import a_supervisor, an_agency, officer_body, previewed

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # a Friday
CRITERIA: dict[str, Any] = {
    "case_types": ["coercion"],
    "amount_thresholds": [
        {"case_type": "penalty", "measure": "fine", "party_kind": "person", "min_amount": "10000.00"},
        {"case_type": "penalty", "measure": "fine", "party_kind": "organization", "min_amount": "100000.00"}],
    "licence_revocation": True, "business_suspension": True, "hearing_held": True, "public_interest": False,
    "complex_case": False, "multi_party": False, "major_rights": False}
ALL_OK = {p: {"ok": True, "note": ""} for p in reviews.CHECKLIST}


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


class World:
    """An agency with a catalogue, a penalty case handled by 执法一队 with two officers, a legal
    reviewer in 法制科 whose key is theirs, and a head."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    async def build(self) -> World:
        made = await an_agency()
        self.agency = made.agency
        self.team = [await officers.create_officer(self.agency.id, officer_body(name=f"执法员{i}", unit="执法一队"),
                                                   "test") for i in range(2)]
        self.reviewer = await officers.create_officer(
            self.agency.id, officer_body(name="王法制", unit="法制科", is_legal_reviewer=True), "test")
        self.reviewer_key = await self.key(Role.REVIEWER, self.reviewer)
        await catalogue.publish(self.agency.id, self.clock.today(), CRITERIA, "", "test", self.clock)
        self.case, _ = await cases.create_case(self.agency.id, {"title": "无证经营", "type": "penalty", "parties": [
            {"kind": "person", "name": "李四"}]}, "test", self.clock)
        await case_officers.assign(self.case, self.team[0].id, [self.team[1].id], "test")
        await catalogue.update_facts(self.agency.id, self.case.id, {"handling_unit": "执法一队"}, "test", self.clock)
        return self

    async def key(self, role: Role, officer: Officer | None = None, agency: Any = None) -> uuid.UUID:
        holder = KeyHolder(officer_id=officer.id) if officer is not None else KeyHolder(person_name="某人")
        row, _ = await create_key(agency or self.agency, role, "test", "test", holder)
        return row.id

    async def refresh(self) -> Case:
        self.case = await Case.get(id=self.case.id)
        return self.case

    async def set(self, **changes: Any) -> Case:
        self.case = await catalogue.update_facts(self.agency.id, self.case.id, changes, "test", self.clock)
        return self.case

    def proposal(self, **changes: Any) -> reviews.Proposal:
        fields: dict[str, Any] = dict(
            decision_type=CaseType.PENALTY, amount=Decimal("50000"), measures=[Measure.FINE],
            summary="拟罚款五万元", facts="无证经营三个月", evidence=["现场检查笔录", "询问笔录"],
            legal_basis="《食品安全法》第一百二十二条", discretion_reasons="情节较重", hearing_record="",
            statement_record="已陈述申辩")
        fields.update(changes)
        return reviews.Proposal(**fields)

    async def submit(self, **changes: Any) -> LegalReview:
        return await reviews.submit(self.agency.id, self.case.id, self.proposal(**changes), "test", self.clock)

    async def opinion(self, review: LegalReview, outcome: ReviewOutcome = ReviewOutcome.APPROVE,
                      checklist: dict[str, Any] | None = None, key_id: uuid.UUID | None = None,
                      referral: reviews.Referral | None = None, scope: Any = "agency") -> LegalReview:
        return await reviews.give_opinion(
            self.agency.id if scope == "agency" else scope, key_id or self.reviewer_key, review.id, outcome,
            "理由充分", checklist if checklist is not None else ALL_OK, referral, "test", self.clock)

    async def decide(self, **data: Any) -> Decision:
        body = {"document_no": f"杭西市监罚〔2026〕{uuid.uuid4().hex[:6]}号", "summary": "罚款五万元",
                "decided_at": self.clock.today()}
        body.update(data)
        return await decisions.create(self.agency.id, self.case.id, body, "test", self.clock)


async def a_world(frozen: FrozenClock) -> World:
    return await World(frozen).build()


# -- the catalogue and the flag (R-L1) ------------------------------------------------------------

async def test_a_case_that_matches_the_catalogue_is_flagged_with_its_reasons_and_again_when_facts_change(db, frozen):
    world = await a_world(frozen)
    assert not world.case.is_major
    case = await world.set(amount=Decimal("9999.99"), measures=[Measure.FINE])
    assert not case.is_major  # below the threshold for a person
    case = await world.set(amount=Decimal("10000"))
    assert case.is_major and case.major_by_catalogue and case.major_catalogue_version == 1
    assert [r["code"] for r in case.major_reasons] == ["amount"]
    assert "10000" in case.major_reasons[0]["text"]
    case = await world.set(amount=Decimal("500"), hearing_held=True)
    assert case.is_major and [r["code"] for r in case.major_reasons] == ["hearing_held"]
    case = await world.set(hearing_held=False, type=CaseType.COERCION)
    assert case.is_major and [r["code"] for r in case.major_reasons] == ["case_type"]
    case = await world.set(type=CaseType.PENALTY)
    assert not case.is_major and case.major_reasons == []


def test_thresholds_differ_for_persons_and_organisations_and_by_measure():
    def facts(kind: PartyKind, measure: Measure = Measure.FINE) -> catalogue.Facts:
        return catalogue.Facts(type=CaseType.PENALTY, amount=Decimal("50000"), measures=frozenset({measure}),
                               hearing_held=False, public_interest=False, complex_case=False, major_rights=False,
                               party_kinds=frozenset({kind}), parties=1)

    assert [r["code"] for r in catalogue.match(CRITERIA, facts(PartyKind.PERSON))] == ["amount"]
    assert catalogue.match(CRITERIA, facts(PartyKind.ORGANIZATION)) == []  # 100,000 for organisations
    assert catalogue.match(CRITERIA, facts(PartyKind.PERSON, Measure.CONFISCATION)) == []  # no rule for it


async def test_a_new_catalogue_version_applies_from_its_date_and_never_from_the_past(db, frozen):
    world = await a_world(frozen)
    await world.set(amount=Decimal("5000"), measures=[Measure.FINE])
    assert not world.case.is_major
    stricter = {**CRITERIA, "amount_thresholds": [
        {"case_type": "penalty", "measure": "fine", "party_kind": "person", "min_amount": "1000.00"}]}
    with pytest.raises(ValidationFailed) as exc:
        await catalogue.publish(world.agency.id, frozen.today() - timedelta(days=1), stricter, "", "test", frozen)
    assert exc.value.code == "catalogue_effective_in_past"
    v2 = await catalogue.publish(world.agency.id, frozen.today() + timedelta(days=3), stricter, "", "test", frozen)
    assert v2.version == 2
    assert (await catalogue.in_effect(world.agency.id, frozen.today())).version == 1  # type: ignore[union-attr]
    await world.set(hearing_held=False)
    assert not world.case.is_major
    frozen.advance(days=3)
    await world.set(hearing_held=False)  # any change of facts evaluates again, under version 2
    assert world.case.is_major and world.case.major_catalogue_version == 2


async def test_an_officer_flags_by_hand_and_only_a_reviewer_lifts_that_flag(db, frozen):
    world = await a_world(frozen)
    case = await catalogue.flag_by_hand(world.agency.id, world.case.id, True, "社会关注度高", Role.OFFICER,
                                        "test", frozen)
    assert case.is_major and case.major_by_hand and [r["code"] for r in case.major_reasons] == ["manual"]
    case = await world.set(amount=Decimal("1"))
    assert case.is_major  # re-evaluating the catalogue keeps the hand flag
    with pytest.raises(Forbidden) as exc:
        await catalogue.flag_by_hand(world.agency.id, world.case.id, False, "不重大", Role.OFFICER, "test", frozen)
    assert exc.value.code == "major_lift_reviewer_only"
    # A reviewer key is not enough: the holder must be a legal reviewer who may review this case.
    lead_reviewer_key = await world.key(Role.REVIEWER, world.team[0])  # the case's own lead officer
    on_case = await officers.create_officer(
        world.agency.id, officer_body(name="办案审核员", unit="法制科", is_legal_reviewer=True), "test")
    await case_officers.assign(world.case, None, [on_case.id], "test")
    for key_id in (None, lead_reviewer_key, await world.key(Role.REVIEWER),
                   await world.key(Role.REVIEWER, on_case)):
        with pytest.raises(Conflict) as conflict:
            await catalogue.flag_by_hand(world.agency.id, world.case.id, False, "不重大", Role.REVIEWER, "test",
                                         frozen, key_id=key_id)
        assert conflict.value.code == "reviewer_conflict"
    assert (await world.refresh()).is_major
    case = await catalogue.flag_by_hand(world.agency.id, world.case.id, False, "不属于重大", Role.REVIEWER,
                                        "test", frozen, key_id=world.reviewer_key)
    assert not case.is_major


async def test_nobody_lifts_a_flag_the_catalogue_set(db, frozen):
    world = await a_world(frozen)
    await world.set(hearing_held=True)
    with pytest.raises(Conflict) as exc:
        await catalogue.flag_by_hand(world.agency.id, world.case.id, False, "不重大", Role.REVIEWER, "test", frozen,
                                     key_id=world.reviewer_key)
    assert exc.value.code == "major_set_by_catalogue"
    assert (await world.refresh()).is_major


# -- the gate (R-L2) ------------------------------------------------------------------------------

async def test_no_decision_on_a_major_case_without_an_approved_review(db, frozen):
    world = await a_world(frozen)
    await world.set(amount=Decimal("5000000"), measures=[Measure.FINE])
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "review_required"
    assert await Decision.filter(case_id=world.case.id).count() == 0
    assert (await world.refresh()).status is CaseStatus.OPEN


async def test_a_decision_above_the_catalogue_needs_the_review_even_when_the_case_facts_do_not(db, frozen):
    # The attack of issue 10: the case's own amount left empty, the decision a fine of 5,000,000.
    world = await a_world(frozen)
    assert not (await world.refresh()).is_major
    with pytest.raises(Conflict) as exc:
        await world.decide(amount=Decimal("5000000"), measures=["fine"])
    assert exc.value.code == "review_required" and exc.value.details == [{"level": "agency"}]
    assert "5000000" in exc.value.message
    assert await Decision.filter(case_id=world.case.id).count() == 0
    decision = await world.decide(amount=Decimal("5000"), measures=["fine"])  # below the threshold: no review
    await Decision.filter(id=decision.id).update(amount=Decimal("5000000"))  # then it grew
    with pytest.raises(Conflict) as exc:
        await decisions.change(db, frozen, world.agency.id, decision.id, "publish", "test")
    assert exc.value.code == "review_required"
    assert (await Decision.get(id=decision.id)).current_version == 0


async def test_a_case_that_is_not_major_needs_no_review(db, frozen):
    world = await a_world(frozen)
    decision = await world.decide(measures=["warning"])
    assert decision.review_id is None and decision.measures == ["warning"]


async def test_publishing_a_decision_that_slipped_in_is_refused_too(db, frozen):
    world = await a_world(frozen)
    decision = await world.decide()  # not major when registered
    await Case.filter(id=world.case.id).update(hearing_held=True)  # then a hearing was held
    with pytest.raises(Conflict) as exc:
        await decisions.change(db, frozen, world.agency.id, decision.id, "publish", "test",
                               preview_hash=await previewed(world.agency.id, decision.id))
    assert exc.value.code == "review_required"
    assert (await Decision.get(id=decision.id)).current_version == 0


async def test_an_approved_review_lets_exactly_the_reviewed_decision_through(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    case = await world.refresh()
    assert case.is_major and case.status is CaseStatus.IN_REVIEW and case.amount == Decimal("50000")
    await world.opinion(review)
    with pytest.raises(Conflict) as exc:
        await world.decide(amount=Decimal("60000"))
    assert exc.value.code == "review_stale" and exc.value.details == [{"field": "amount"}]
    with pytest.raises(Conflict) as exc:
        await world.decide(measures=["fine", "licence_revocation"])
    assert exc.value.code == "review_stale" and exc.value.details == [{"field": "measures"}]
    decision = await world.decide()
    assert decision.review_id == review.id and decision.amount == Decimal("50000")
    result = await decisions.change(db, frozen, world.agency.id, decision.id, "publish", "test",
                                    preview_hash=await previewed(world.agency.id, decision.id))
    assert result.decision.current_version == 1


async def test_facts_changed_after_the_review_make_it_stale(db, frozen):
    world = await a_world(frozen)
    await world.opinion(await world.submit())
    await world.set(type=CaseType.COERCION)
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "review_stale" and {"field": "type"} in exc.value.details


# -- the opinion (R-L2, R-L3) ---------------------------------------------------------------------

async def test_the_reviewer_must_be_a_legal_reviewer_outside_the_handling_unit_and_the_case(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    plain = await officers.create_officer(world.agency.id, officer_body(name="普通人员", unit="法制科"), "test")
    same_unit = await officers.create_officer(
        world.agency.id, officer_body(name="同队审核员", unit="执法一队", is_legal_reviewer=True), "test")
    on_case = await officers.create_officer(
        world.agency.id, officer_body(name="办案审核员", unit="法制科", is_legal_reviewer=True), "test")
    await case_officers.assign(world.case, None, [on_case.id], "test")
    keys = [await world.key(Role.REVIEWER), await world.key(Role.REVIEWER, plain),
            await world.key(Role.REVIEWER, same_unit), await world.key(Role.REVIEWER, on_case)]
    for key_id in keys:
        with pytest.raises(Conflict) as exc:
            await world.opinion(review, key_id=key_id)
        assert exc.value.code == "reviewer_conflict"
    assert (await LegalReview.get(id=review.id)).status is ReviewStatus.SUBMITTED
    approved = await world.opinion(review)
    assert approved.reviewer_name == "王法制" and approved.reviewer_officer_id == world.reviewer.id


async def test_without_a_recorded_handling_unit_the_lead_officers_unit_is_the_handling_unit(db, frozen):
    world = await a_world(frozen)
    await world.set(handling_unit="")
    review = await world.submit()
    same_unit = await officers.create_officer(
        world.agency.id, officer_body(name="同队审核员", unit="执法一队", is_legal_reviewer=True), "test")
    with pytest.raises(Conflict) as exc:
        await world.opinion(review, key_id=await world.key(Role.REVIEWER, same_unit))
    assert exc.value.code == "reviewer_conflict"
    assert (await world.opinion(review)).reviewer_name == "王法制"  # 法制科 is not the lead's unit


async def test_a_legal_reviewer_does_not_review_what_they_submitted_themselves(db, frozen):
    world = await a_world(frozen)
    submitter, _ = await create_key(world.agency, Role.OFFICER, "test", "test", KeyHolder(officer_id=world.reviewer.id))
    review = await reviews.submit(world.agency.id, world.case.id, world.proposal(), f"key:{submitter.id}", world.clock)
    with pytest.raises(Conflict) as exc:
        await world.opinion(review)  # 王法制's own reviewer key
    assert exc.value.code == "reviewer_conflict"
    other = await officers.create_officer(
        world.agency.id, officer_body(name="赵法制", unit="法制科", is_legal_reviewer=True), "test")
    assert (await world.opinion(review, key_id=await world.key(Role.REVIEWER, other))).reviewer_name == "赵法制"


async def test_every_point_of_the_checklist_is_answered_and_approval_needs_all_of_them_to_pass(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    missing = {k: v for k, v in ALL_OK.items() if k != "crime_transfer"}
    with pytest.raises(ValidationFailed) as exc:
        await world.opinion(review, checklist=missing)
    assert exc.value.code == "checklist_incomplete" and exc.value.details == [{"point": "crime_transfer"}]
    failed = {**ALL_OK, "facts_clear": {"ok": False, "note": "证据不足以证明经营时长"}}
    with pytest.raises(ValidationFailed) as exc:
        await world.opinion(review, checklist=failed)
    assert exc.value.code == "checklist_failed"
    with pytest.raises(ValidationFailed) as exc:
        await world.opinion(review, checklist={**ALL_OK, "mood": {"ok": True, "note": ""}})
    assert exc.value.code == "checklist_unknown_point"
    corrected = await world.opinion(review, ReviewOutcome.CORRECT, checklist=failed)
    assert corrected.status is ReviewStatus.CORRECTION_REQUESTED and corrected.opinion["facts_clear"]["ok"] is False


async def test_a_correction_is_answered_by_a_new_round_and_every_round_is_kept(db, frozen):
    world = await a_world(frozen)
    first = await world.submit()
    with pytest.raises(Conflict) as exc:
        await world.submit()
    assert exc.value.code == "review_pending"
    await world.opinion(first, ReviewOutcome.CORRECT)
    assert (await world.refresh()).status is CaseStatus.INVESTIGATING
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "review_required"
    second = await world.submit(amount=Decimal("40000"), facts="补充了经营时长的证据")
    assert second.round == 2
    await world.opinion(second)
    decision = await world.decide()
    assert decision.amount == Decimal("40000") and decision.review_id == second.id
    rounds = await LegalReview.filter(case_id=world.case.id).order_by("round")
    assert [(r.round, r.status) for r in rounds] == [(1, ReviewStatus.CORRECTION_REQUESTED),
                                                     (2, ReviewStatus.APPROVED)]


async def test_a_dispute_goes_to_the_heads_collective_discussion_which_is_recorded(db, frozen):
    world = await a_world(frozen)
    review = await world.opinion(await world.submit(), ReviewOutcome.CORRECT)
    with pytest.raises(IllegalTransition) as exc:
        await reviews.head_decide(world.agency.id, review.id, ReviewOutcome.APPROVE, "纪要", True, None, "test",
                                  frozen)
    assert exc.value.code == "review_head_decide_not_allowed"  # only after a dispute
    disputed = await reviews.dispute(world.agency.id, review.id, "证据已在卷", "test", frozen)
    assert disputed.status is ReviewStatus.DISPUTED and disputed.handling_unit_objection == "证据已在卷"
    with pytest.raises(ValidationFailed) as exc:
        await reviews.head_decide(world.agency.id, review.id, ReviewOutcome.APPROVE, "纪要", False, None, "test",
                                  frozen)
    assert exc.value.code == "departure_mismatch"
    decided = await reviews.head_decide(world.agency.id, review.id, ReviewOutcome.APPROVE,
                                        "局长办公会集体讨论，同意承办意见", True, None, "test", frozen)
    assert decided.status is ReviewStatus.HEAD_DECIDED and decided.head_departed_from_opinion is True
    decision = await world.decide()  # the head's approval lets the reviewed decision through
    assert decision.review_id == review.id
    who = await responsibility.of_case(world.agency.id, world.case.id)
    assert who.departed_from_opinion is True
    assert [(a.via, a.level) for a in who.approved_by] == [("head_decision", ReviewLevel.AGENCY)]
    assert [r.reviewer_name for r in who.rounds] == ["王法制"]


async def test_the_head_may_uphold_the_opinion_and_then_nothing_is_decided(db, frozen):
    world = await a_world(frozen)
    review = await world.opinion(await world.submit(), ReviewOutcome.CORRECT)
    await reviews.dispute(world.agency.id, review.id, "不同意", "test", frozen)
    await reviews.head_decide(world.agency.id, review.id, ReviewOutcome.CORRECT, "维持审核意见", False, None, "test",
                              frozen)
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "review_required"


async def test_a_referred_case_cannot_be_decided_by_this_agency(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    with pytest.raises(ValidationFailed) as exc:
        await world.opinion(review, ReviewOutcome.REFER)
    assert exc.value.code == "referral_required"
    referred = await world.opinion(review, ReviewOutcome.REFER,
                                   referral=reviews.Referral("杭州市公安局西湖区分局", frozen.today()))
    assert referred.status is ReviewStatus.REFERRED and referred.referred_to == "杭州市公安局西湖区分局"
    case = await world.refresh()
    assert case.status is CaseStatus.REFERRED and case.referred_on == frozen.today()
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "case_referred"
    with pytest.raises(IllegalTransition) as refused:
        await world.submit()
    assert refused.value.code == "case_submit_review_not_allowed"


async def test_a_decision_in_the_governments_name_needs_the_second_review_too(db, frozen):
    world = await a_world(frozen)
    supervisor, elsewhere = await a_supervisor(), await a_supervisor("另一区司法局")
    gov_reviewer = await officers.create_officer(
        supervisor.agency.id, officer_body(name="区府法制", unit="法制办", is_legal_reviewer=True), "test")
    gov_key = await world.key(Role.SUPERVISOR, gov_reviewer, agency=supervisor.agency)
    other_reviewer = await officers.create_officer(
        elsewhere.agency.id, officer_body(name="他区法制", unit="法制办", is_legal_reviewer=True), "test")
    other_key = await world.key(Role.SUPERVISOR, other_reviewer, agency=elsewhere.agency)
    first = await world.opinion(await world.submit(in_government_name=True))
    second = await LegalReview.get(case_id=world.case.id, level=ReviewLevel.GOVERNMENT)
    assert second.round == first.round and second.status is ReviewStatus.SUBMITTED
    with pytest.raises(Conflict) as exc:
        await world.decide()
    assert exc.value.code == "review_required" and exc.value.details == [{"level": "government"}]
    with pytest.raises(Conflict) as exc:  # the agency's reviewer cannot give the government's review
        await world.opinion(second)
    assert exc.value.code == "reviewer_conflict"
    with pytest.raises(Conflict) as exc:  # no supervising body recorded: no government level to review
        await world.opinion(second, key_id=gov_key, scope=None)
    assert exc.value.code == "supervising_body_unknown"
    await agencies.set_supervising_body(world.agency, supervisor.agency)
    with pytest.raises(Conflict) as exc:  # a reviewer of another supervising body is not its government level
        await world.opinion(second, key_id=other_key, scope=None)
    assert exc.value.code == "reviewer_conflict"
    await world.opinion(second, key_id=gov_key, scope=None)
    decision = await world.decide(in_government_name=True)
    assert decision.review_id == first.id
    who = await responsibility.of_case(None, world.case.id)
    assert [a.level for a in who.approved_by] == [ReviewLevel.AGENCY, ReviewLevel.GOVERNMENT]


async def test_a_decision_said_to_be_in_the_governments_name_is_refused_without_the_second_review(db, frozen):
    world = await a_world(frozen)
    await world.opinion(await world.submit())
    with pytest.raises(Conflict) as exc:
        await world.decide(in_government_name=True)
    assert exc.value.code == "review_required" and exc.value.details == [{"level": "government"}]


# -- clocks, records, staffing (R-L4..R-L6) --------------------------------------------------------

async def test_due_on_counts_five_working_days_on_the_official_calendar(db):
    assert await deadlines.review_due_on(date(2026, 11, 20)) == Deadline(date(2026, 11, 27), False)
    assert await deadlines.review_due_on(date(2026, 11, 21)) == Deadline(date(2026, 11, 27), False)  # a Saturday
    # Submitted on the eve of National Day 2026: 10-01..07 off, Saturday 10-10 worked (调休).
    assert await deadlines.review_due_on(date(2026, 9, 30)) == Deadline(date(2026, 10, 13), False)
    # Spring Festival 2025: 01-28..02-04 off, Sunday 01-26 and Saturday 02-08 worked.
    assert await deadlines.review_due_on(date(2025, 1, 24)) == Deadline(date(2025, 2, 7), False)
    # Into 2027, which no source covers yet: counted on weekends and 元旦 alone, and said so.
    assert await deadlines.review_due_on(date(2026, 12, 28)) == Deadline(date(2027, 1, 5), True)


def test_the_review_clock_colours():
    due = date(2026, 11, 27)
    assert [deadlines.colour(due, due - timedelta(days=n)) for n in (3, 1, 0, -1)] == \
        ["green", "yellow", "yellow", "red"]


async def test_reviews_due_tomorrow_are_yellow_and_overdue_ones_red_for_the_supervisor(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    assert review.due_on == date(2026, 11, 27) and not review.due_on_provisional
    assert reviews.colour(review, frozen.today()) == "green"
    assert (await reviews.overdue(frozen, page=1, page_size=20))[1] == 0
    frozen.advance(days=6)  # Thursday the 26th
    assert reviews.colour(review, frozen.today()) == "yellow"
    rows, total = await reviews.overdue(frozen, page=1, page_size=20)
    assert total == 1 and rows[0].colour == "yellow" and rows[0].days_overdue == 0
    frozen.advance(days=3)
    rows, _ = await reviews.overdue(frozen, page=1, page_size=20)
    assert rows[0].colour == "red" and rows[0].days_overdue == 2
    answered = await world.opinion(review)
    assert reviews.colour(answered, frozen.today()) is None
    assert (await reviews.overdue(frozen, page=1, page_size=20))[1] == 0


async def test_every_submission_opinion_dispute_and_head_decision_is_a_record_and_an_event(db, frozen):
    world = await a_world(frozen)
    review = await world.opinion(await world.submit(), ReviewOutcome.CORRECT)
    await reviews.dispute(world.agency.id, review.id, "不同意", "test", frozen)
    await reviews.head_decide(world.agency.id, review.id, ReviewOutcome.APPROVE, "纪要", True, None, "test", frozen)
    steps = await CaseRecord.filter(case_id=world.case.id, step=RecordStep.LEGAL_REVIEW).order_by("seq")
    assert len(steps) == 4
    assert "提交法制审核" in steps[0].text and "退回补正" in steps[1].text and "异议" in steps[2].text
    events = await reviews.events(review.id)
    assert [e.kind for e in events] == ["submit", "opinion", "dispute", "head_decision"]
    leaf = reviews.leaf_content(events[1], world.agency.id)
    # every field the event is written with; the database's row id and the leaf index come after
    stored = {f for f in LegalReviewEvent._meta.fields_map if f not in ("id", "review", "leaf_index")}  # type: ignore[attr-defined]
    assert stored <= set(leaf)
    assert all(e.leaf_index is not None for e in events)
    entry = await log.entry(events[1].leaf_index, None)
    assert entry.kind == "review_opinion" and entry.content["data"] == leaf
    assert leaf["at"] == NOW.astimezone(UTC).isoformat(timespec="microseconds")
    assert leaf["data"]["checklist"] == ALL_OK and leaf["data"]["outcome"] == "correct"


async def test_an_illegal_move_writes_no_record(db, frozen):
    world = await a_world(frozen)
    review = await world.opinion(await world.submit())
    before = await CaseRecord.filter(case_id=world.case.id).count()
    with pytest.raises(IllegalTransition):
        await world.opinion(review)
    with pytest.raises(IllegalTransition):
        await reviews.dispute(world.agency.id, review.id, "不同意", "test", frozen)
    assert await CaseRecord.filter(case_id=world.case.id).count() == before


async def test_reviewer_ratio_needs_five_percent_and_at_least_one(db, frozen):
    small = (await an_agency("小局")).agency
    await officers.create_officer(small.id, officer_body(name="执法甲"), "test")
    big = (await an_agency("大局")).agency
    for i in range(40):
        await officers.create_officer(big.id, officer_body(name=f"执法{i}"), "test")
    await officers.create_officer(big.id, officer_body(name="审核一", unit="法制科", is_legal_reviewer=True), "test")
    await officers.create_officer(big.id, officer_body(kind=OfficerKind.AUXILIARY.value, certificate_no=None,
                                                       name="辅助"), "test")
    await a_supervisor()  # supervising bodies are not listed
    rows = {r.agency_name: r for r in await staffing.reviewer_ratio(db)}
    assert set(rows) == {"小局", "大局"}
    assert (rows["小局"].legal_reviewers, rows["小局"].required_reviewers, rows["小局"].meets) == (0, 1, False)
    assert (rows["大局"].enforcement_officers, rows["大局"].required_reviewers, rows["大局"].meets) == (41, 3, False)
    assert [r.name for r in rows["大局"].reviewers] == ["审核一"]
    await officers.create_officer(small.id, officer_body(name="审核", is_legal_reviewer=True), "test")
    rows = {r.agency_name: r for r in await staffing.reviewer_ratio(db)}
    assert rows["小局"].meets and rows["小局"].ratio_percent == 50.0


async def test_a_filed_roster_is_a_snapshot_and_the_supervisor_sees_when_it_is_out_of_date(db, frozen):
    agency = (await an_agency("报备局")).agency
    first = await officers.create_officer(agency.id, officer_body(name="审核甲", is_legal_reviewer=True), "test")
    rows = {r.agency_name: r for r in await staffing.reviewer_ratio(db)}
    assert rows["报备局"].filing is None and not rows["报备局"].filing_current
    token = audit.acting_as.set(("admin", "钱管理"))
    try:
        filing = await staffing.file_roster(agency.id, "key:x", frozen)
    finally:
        audit.acting_as.reset(token)
    assert (filing.filed_at, filing.actor_name) == (frozen.now(), "钱管理")
    assert [r["name"] for r in filing.reviewers] == ["审核甲"]
    rows = {r.agency_name: r for r in await staffing.reviewer_ratio(db)}
    assert rows["报备局"].filing_current
    await officers.create_officer(agency.id, officer_body(name="审核乙", is_legal_reviewer=True), "test")
    await officers.update_officer(agency.id, first.id, {"status": OfficerStatus.DEPARTED}, "test", frozen)
    rows = {r.agency_name: r for r in await staffing.reviewer_ratio(db)}
    assert not rows["报备局"].filing_current  # a reviewer left and another came: file again
    assert [r["name"] for r in (await staffing.latest_filing(agency.id)).reviewers] == ["审核甲"]  # unchanged


async def test_the_audit_names_the_reviewer_as_the_keys_holder(db, frozen):
    world = await a_world(frozen)
    review = await world.submit()
    token = audit.acting_as.set(("reviewer", "王法制"))
    try:
        await reviews.give_opinion(world.agency.id, world.reviewer_key, review.id, ReviewOutcome.APPROVE, "同意",
                                   ALL_OK, None, f"key:{world.reviewer_key}", frozen)
    finally:
        audit.acting_as.reset(token)
    event = (await reviews.events(review.id))[-1]
    assert (event.actor_name, event.actor_role) == ("王法制", "reviewer")


async def test_recording_a_hearing_evaluates_the_flag_again(db):
    from tests.services.test_case_records import NOW as RECORD_NOW
    from tests.services.test_case_records import a_world as a_recorded_world

    clock = FrozenClock(RECORD_NOW - timedelta(days=30))
    world = await a_recorded_world(db, clock)
    await catalogue.publish(world.case.agency_id, clock.today(), {"hearing_held": True}, "", "test", clock)
    assert not (await Case.get(id=world.case.id)).is_major
    await world.add(world.step(RecordStep.HEARING, party_signature=SignatureState.SIGNED))
    case = await Case.get(id=world.case.id)
    assert case.hearing_held and case.is_major and [r["code"] for r in case.major_reasons] == ["hearing_held"]
