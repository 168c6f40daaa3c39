"""Publication clocks (R-P1, R-P3) at the service level: publish_due_on on creation, revocation and
withdraw_due_on, their overdue views, publication periods that end by themselves or by a credit
repair, and every stored deadline recomputed when a year of the calendar is loaded."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, IllegalTransition, ValidationFailed
from backend.models import AuditEvent, CaseRecord, Decision, DecisionVersion, LegalReview, Notification
from backend.models.enums import DecisionStatus, DecisionVersionKind, RemedyKind, RemedyOutcome, RevocationReason
from backend.services import calendar, cases, clocks, decisions, remedies, statistics
from backend.services.remedies import RemedyInput
from tests.factories import an_agency, previewed
from tests.services.test_legal_review import a_world

D = date
NOVEMBER_20 = D(2026, 11, 20)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))  # a Friday


async def a_decision(clock: FrozenClock, type: str = "penalty", decided_at: date = NOVEMBER_20,
                     agency_id: uuid.UUID | None = None) -> Decision:
    if agency_id is None:
        agency_id = (await an_agency()).agency.id
    case, _ = await cases.create_case(agency_id, {"title": "无照经营", "type": type, "parties": [
        {"kind": "organization", "name": "杭州某某餐饮有限公司"}]}, "test", clock)
    return await decisions.create(agency_id, case.id, {
        "document_no": f"杭西市监〔2026〕{case.number}号", "summary": "罚款五千元", "decided_at": decided_at},
        "test", clock)


async def test_every_decision_gets_its_publication_clock_on_creation(db, frozen):
    penalty = await a_decision(frozen, "penalty")  # 11-23..27, 11-30, 12-01
    assert (penalty.publish_due_on, penalty.publish_due_on_provisional) == (D(2026, 12, 1), False)
    permit = await a_decision(frozen, "permit")
    assert permit.publish_due_on == D(2026, 12, 1)
    inspection = await a_decision(frozen, "inspection")  # 20 working days for other results
    assert (inspection.publish_due_on, inspection.publish_due_on_provisional) == (D(2026, 12, 18), False)
    # Decided on Christmas Eve: the count runs into 2027, which no source covers yet.
    late = await a_decision(frozen, "permit", D(2026, 12, 24))
    assert (late.publish_due_on, late.publish_due_on_provisional) == (D(2027, 1, 5), True)
    # Before National Day 2026 (10-01..07 off, Saturday 10-10 worked).
    october = await a_decision(frozen, "penalty", D(2026, 9, 29))
    assert october.publish_due_on == D(2026, 10, 14)  # 09-30, 10-08, 09, 10 (Saturday), 12, 13, 14


async def test_an_unpublished_decision_shows_yellow_then_red_in_its_agencys_and_the_supervisors_view(db, frozen):
    decision = await a_decision(frozen)
    other = (await an_agency("另一局")).agency.id
    assert (await clocks.overdue_decisions("publication", frozen, page=1, page_size=20))[1] == 0
    frozen.at = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)  # due tomorrow
    rows, total = await clocks.overdue_decisions("publication", frozen, page=1, page_size=20)
    assert total == 1 and rows[0].decision.id == decision.id and rows[0].colour == "yellow"
    frozen.at = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    rows, _ = await clocks.overdue_decisions("publication", frozen, page=1, page_size=20, scope=decision.agency_id)
    assert (rows[0].colour, rows[0].days_overdue, rows[0].due_on) == ("red", 2, D(2026, 12, 1))
    assert (await clocks.overdue_decisions("publication", frozen, page=1, page_size=20, scope=other))[1] == 0
    await decisions.change(db, frozen, decision.agency_id, decision.id, "publish", "test",
                           preview_hash=await previewed(decision.agency_id, decision.id))
    assert (await clocks.overdue_decisions("publication", frozen, page=1, page_size=20))[1] == 0


async def published(db, frozen: FrozenClock, **kw) -> Decision:  # type: ignore[no-untyped-def]
    decision = await a_decision(frozen, **kw)
    return (await decisions.change(db, frozen, decision.agency_id, decision.id, "publish", "test",
                                   preview_hash=await previewed(decision.agency_id, decision.id))).decision


async def test_a_revoked_decision_must_be_withdrawn_within_three_working_days(db, frozen):
    decision = await published(db, frozen)
    frozen.at = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
    revocation = await decisions.revoke(decision.agency_id, decision.id, RevocationReason.CONFIRMED_ILLEGAL,
                                        D(2026, 12, 3), "西湖区人民法院（2026）浙0106行初88号", "test", frozen)
    assert revocation.reason is RevocationReason.CONFIRMED_ILLEGAL
    row = await Decision.get(id=decision.id)
    assert (row.withdraw_due_on, row.withdraw_due_on_provisional) == (D(2026, 12, 8), False)  # 12-04, 07, 08
    assert row.status is DecisionStatus.PUBLISHED  # still public until withdrawn
    assert (await clocks.overdue_decisions("withdrawal", frozen, page=1, page_size=20))[1] == 0
    frozen.at = datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)
    rows, total = await clocks.overdue_decisions("withdrawal", frozen, page=1, page_size=20)
    assert total == 1 and rows[0].colour == "red" and rows[0].revocation is not None
    assert rows[0].revocation.revoked_on == D(2026, 12, 3)
    await decisions.change(db, frozen, decision.agency_id, decision.id, "withdraw", "test", reason="已被确认违法")
    assert (await clocks.overdue_decisions("withdrawal", frozen, page=1, page_size=20))[1] == 0


async def test_a_remedy_outcome_that_revokes_a_public_decision_starts_its_withdrawal_clock(db, frozen):
    # Recording a reconsideration's 撤销 must not leave the revoked decision on display: the same
    # entry registers the revocation, dated from the outcome's document, and its 3-working-day clock.
    decision = await published(db, frozen)
    kept = await published(db, frozen, agency_id=decision.agency_id)
    frozen.at = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
    filed = await remedies.record(decision.agency_id, decision.case_id, RemedyInput(
        RemedyOutcome.PENDING, kind=RemedyKind.RECONSIDERATION, decision_id=decision.id, filed_on=D(2026, 11, 23),
        authority="杭州市西湖区人民政府"), "test", frozen)
    assert filed.revocation is None  # pending: nothing is revoked yet
    done = await remedies.record(decision.agency_id, decision.case_id, RemedyInput(
        RemedyOutcome.REVOKED, proceeding_id=filed.entry.proceeding_id, decided_on=D(2026, 12, 3),
        document_no="西政复〔2026〕31号"), "key:reviewer", frozen)
    assert done.revocation is not None and done.revocation.decision_id == decision.id
    assert (done.revocation.reason, done.revocation.revoked_on) == (RevocationReason.REVOKED, D(2026, 12, 3))
    assert done.revocation.basis == "行政复议杭州市西湖区人民政府西政复〔2026〕31号"
    assert done.revocation.actor == "key:reviewer"
    row = await Decision.get(id=decision.id)
    assert (row.withdraw_due_on, row.status) == (D(2026, 12, 8), DecisionStatus.PUBLISHED)  # 12-04, 07, 08
    assert await AuditEvent.filter(action="decision.revoke", target_id=str(decision.id)).count() == 1
    frozen.at = datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)
    rows, total = await clocks.overdue_decisions("withdrawal", frozen, page=1, page_size=20)
    assert total == 1 and rows[0].decision.id == decision.id
    # Reopened and decided again: the withdrawal already runs, nothing is registered twice.
    await remedies.record(decision.agency_id, decision.case_id, RemedyInput(
        RemedyOutcome.PENDING, proceeding_id=filed.entry.proceeding_id, authority="杭州市中级人民法院"), "test", frozen)
    again = await remedies.record(decision.agency_id, decision.case_id, RemedyInput(
        RemedyOutcome.CONFIRMED_ILLEGAL, proceeding_id=filed.entry.proceeding_id, decided_on=D(2026, 12, 9)),
        "test", frozen)
    assert again.revocation is None
    # An outcome that leaves the decision in force, or one about no decision, starts nothing.
    upheld = await remedies.record(kept.agency_id, kept.case_id, RemedyInput(
        RemedyOutcome.UPHELD, kind=RemedyKind.LITIGATION, decision_id=kept.id, filed_on=D(2026, 11, 23),
        decided_on=D(2026, 12, 8), authority="杭州市西湖区人民法院"), "test", frozen)
    assert upheld.revocation is None and (await Decision.get(id=kept.id)).withdraw_due_on is None
    # Withdrawn already: nothing left to withdraw.
    await decisions.change(db, frozen, decision.agency_id, decision.id, "withdraw", "test", reason="已被撤销")
    assert (await clocks.overdue_decisions("withdrawal", frozen, page=1, page_size=20))[1] == 0


async def test_a_decision_confirmed_invalid_is_recorded_withdrawn_told_and_counted_as_confirmed_invalid(db, frozen):
    # 确认无效 is not 确认违法: the revocation, the case record, the public withdrawal, the party's
    # message and the annual figures each keep what the court found.
    agency_id = (await an_agency()).agency.id
    case, _ = await cases.create_case(agency_id, {"title": "无照经营", "type": "penalty", "parties": [
        {"kind": "person", "name": "李四", "phone": "13800138001", "id_number": "330102199001011234"}]}, "test",
        frozen)
    decision = await decisions.create(agency_id, case.id, {
        "document_no": f"杭西市监〔2026〕{case.number}号", "summary": "罚款五千元", "decided_at": NOVEMBER_20},
        "test", frozen)
    await decisions.change(db, frozen, agency_id, decision.id, "publish", "test",
                           preview_hash=await previewed(agency_id, decision.id))
    frozen.at = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
    done = await remedies.record(agency_id, case.id, RemedyInput(
        RemedyOutcome.CONFIRMED_INVALID, kind=RemedyKind.LITIGATION, decision_id=decision.id,
        filed_on=D(2026, 11, 23), decided_on=D(2026, 12, 3), authority="杭州市西湖区人民法院",
        document_no="（2026）浙0106行初88号"), "test", frozen)
    assert done.revocation is not None and done.revocation.reason is RevocationReason.CONFIRMED_INVALID
    assert await CaseRecord.filter(case_id=case.id, text__contains="登记执法决定被确认无效").count() == 1
    withdrawn = await decisions.change(db, frozen, agency_id, decision.id, "withdraw", "test", reason="依判决撤回")
    shown = await decisions.public_view(decision.id)
    assert shown.history[-1].reason == "该执法决定已被确认无效：依判决撤回"
    told = await Notification.get(id__in=withdrawn.notification_ids)
    assert "被确认无效" in told.content and "确认违法" not in told.content
    figures = await statistics.compute(agency_id, 2026)
    assert figures["by_type"]["penalty"]["litigation"]["outcomes"]["confirmed_invalid"] == 1
    assert figures["by_type"]["penalty"]["litigation"]["outcomes"]["confirmed_illegal"] == 0


async def test_a_revocation_is_refused_when_it_cannot_be_right(db, frozen):
    draft = await a_decision(frozen)
    with pytest.raises(Conflict) as exc:
        await decisions.revoke(draft.agency_id, draft.id, RevocationReason.REVOKED, D(2026, 11, 20), "", "t", frozen)
    assert exc.value.code == "decision_not_public"
    decision = await published(db, frozen)
    with pytest.raises(ValidationFailed) as bad:
        await decisions.revoke(decision.agency_id, decision.id, RevocationReason.REVOKED, D(2026, 11, 21), "", "t",
                               frozen)
    assert bad.value.code == "revocation_date_in_future"
    with pytest.raises(ValidationFailed) as bad:
        await decisions.revoke(decision.agency_id, decision.id, RevocationReason.REVOKED, D(2026, 11, 19), "", "t",
                               frozen)
    assert bad.value.code == "revocation_date_before_decision"
    await decisions.revoke(decision.agency_id, decision.id, RevocationReason.ORDERED_REMADE, D(2026, 11, 20), "", "t",
                           frozen)
    with pytest.raises(Conflict) as exc:
        await decisions.revoke(decision.agency_id, decision.id, RevocationReason.REVOKED, D(2026, 11, 20), "", "t",
                               frozen)
    assert exc.value.code == "decision_already_revoked"


async def test_a_publication_ends_by_itself_at_its_maximum_as_a_new_version(db, frozen):
    decision = await published(db, frozen)  # a penalty: 3 to 12 months by default
    assert decision.publication_ends_on == D(2027, 11, 19)
    frozen.at = datetime(2027, 11, 19, 23, 0, tzinfo=SHANGHAI)
    assert await decisions.end_due_publications(db, frozen) == 0  # its last day
    frozen.at = datetime(2027, 11, 20, 0, 30, tzinfo=SHANGHAI)
    assert await decisions.end_due_publications(db, frozen) == 1
    assert await decisions.end_due_publications(db, frozen) == 0  # running twice is harmless
    row = await Decision.get(id=decision.id)
    assert row.status is DecisionStatus.ENDED
    versions = await DecisionVersion.filter(decision_id=decision.id).order_by("version")
    assert [v.kind for v in versions] == [DecisionVersionKind.PUBLISH, DecisionVersionKind.END]
    assert versions[1].public_text == versions[0].public_text and versions[1].actor_role == "system"
    view = await decisions.public_view(decision.id)
    assert view.text is None and view.status is DecisionStatus.ENDED and len(view.history) == 2
    with pytest.raises(IllegalTransition):
        await decisions.change(db, frozen, decision.agency_id, decision.id, "correct", "test", summary="x", reason="y",
                               preview_hash="0" * 64)  # the table refuses before the preview is compared


async def test_a_credit_repair_ends_a_publication_early_but_never_before_the_minimum(db, frozen):
    decision = await published(db, frozen)
    frozen.at = datetime(2027, 2, 19, 10, 0, tzinfo=SHANGHAI)  # a day short of 3 months
    with pytest.raises(Conflict) as exc:
        await decisions.end_publication(db, frozen, decision.id, "credit_repair", "test",
                                        agency_id=decision.agency_id, reason="已履行处罚并作出信用承诺")
    assert exc.value.code == "publication_minimum_not_reached" and "2027-02-20" in exc.value.message
    assert (await Decision.get(id=decision.id)).status is DecisionStatus.PUBLISHED
    frozen.at = datetime(2027, 2, 20, 10, 0, tzinfo=SHANGHAI)
    ended = await decisions.end_publication(db, frozen, decision.id, "credit_repair", "test",
                                            agency_id=decision.agency_id, reason="已履行处罚并作出信用承诺")
    assert ended.status is DecisionStatus.ENDED
    last = await DecisionVersion.filter(decision_id=decision.id).order_by("-version").first()
    assert last is not None and last.kind is DecisionVersionKind.CREDIT_REPAIR and last.reason
    other = (await an_agency("另一局")).agency.id
    with pytest.raises(IllegalTransition):  # ended once; and another agency cannot even see it
        await decisions.end_publication(db, frozen, decision.id, "credit_repair", "test", agency_id=decision.agency_id)
    with pytest.raises(Exception) as hidden:
        await decisions.end_publication(db, frozen, decision.id, "credit_repair", "test", agency_id=other)
    assert getattr(hidden.value, "code", "") == "decision_not_found"


# An illustrative 2027 schedule (not the State Council's): 01-04 off as well, so dates move by one.
SCHEDULE_2027 = """2027-01-01,holiday,元旦
2027-01-04,holiday,元旦
2027-05-01,holiday,劳动节
2027-05-02,holiday,劳动节
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
"""


async def test_loading_a_year_recomputes_every_stored_deadline_that_counted_it(db, frozen):
    world = await a_world(frozen)
    frozen.at = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
    review = await world.submit()  # 12-29..31, then 2027
    assert (review.due_on, review.due_on_provisional) == (D(2027, 1, 5), True)
    permit = await a_decision(frozen, "permit", D(2026, 12, 24))
    assert (permit.publish_due_on, permit.publish_due_on_provisional) == (D(2027, 1, 5), True)
    revoked = await published(db, frozen, decided_at=D(2026, 12, 28))
    frozen.at = datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI)
    await decisions.revoke(revoked.agency_id, revoked.id, RevocationReason.REVOKED, D(2026, 12, 30), "", "t", frozen)
    assert (await Decision.get(id=revoked.id)).withdraw_due_on == D(2027, 1, 5)
    untouched = await a_decision(frozen, "penalty", D(2026, 11, 20))

    result = await clocks.load(calendar.parse(SCHEDULE_2027.encode()), source_name="2027.csv", sha256="0" * 64,
                               actor="operator:王运维", clock=frozen)
    # The revoked one's own publication clock (decided 12-28, due 2027-01-07) counted 2027 too.
    assert result.recomputed == {"review": 1, "publication": 2, "withdrawal": 1, "complaint": 0, "register": 0}
    review = await LegalReview.get(id=review.id)
    assert (review.due_on, review.due_on_provisional) == (D(2027, 1, 6), False)
    permit = await Decision.get(id=permit.id)
    assert (permit.publish_due_on, permit.publish_due_on_provisional) == (D(2027, 1, 6), False)
    revoked = await Decision.get(id=revoked.id)
    assert (revoked.withdraw_due_on, revoked.withdraw_due_on_provisional) == (D(2027, 1, 6), False)
    assert (revoked.publish_due_on, revoked.publish_due_on_provisional) == (D(2027, 1, 8), False)
    assert (await Decision.get(id=untouched.id)).publish_due_on == D(2026, 12, 1)
    changes = await AuditEvent.filter(action="deadline.recompute").order_by("id")
    assert {(c.target_id, c.data["clock"], c.data["from"], c.data["to"]) for c in changes} == {
        (str(review.id), "review", "2027-01-05", "2027-01-06"),
        (str(permit.id), "publication", "2027-01-05", "2027-01-06"),
        (str(revoked.id), "publication", "2027-01-07", "2027-01-08"),
        (str(revoked.id), "withdrawal", "2027-01-05", "2027-01-06")}
    assert all(c.actor_name == "operator:王运维" for c in changes)


def _job(name: str):  # type: ignore[no-untyped-def]
    from backend.periodic import PERIODIC_JOBS

    return next(j for j in PERIODIC_JOBS if j.name == name)


def _context(db, clock: FrozenClock):  # type: ignore[no-untyped-def]
    from backend.periodic import JobContext
    from backend.services.disclosure.verification import VerifyCache
    from notifications.deps import Deps
    from notifications.policy import Policy

    return JobContext(deps=Deps(settings=db, clock=clock, policy=Policy(schedule=(0.01,)), channels={}),
                      cache=VerifyCache(None))


async def test_the_december_job_warns_once_a_day_while_next_year_is_missing(db, caplog):
    job = _job("calendar_coverage")
    november = FrozenClock(datetime(2026, 11, 30, 9, 10, tzinfo=SHANGHAI))
    assert await job.run(_context(db, november)) is None
    december = FrozenClock(datetime(2026, 12, 1, 9, 10, tzinfo=SHANGHAI))
    warning = await job.run(_context(db, december))
    assert warning is not None and "2027" in warning
    assert any(r.levelname == "WARNING" and "calendar_year_missing" in r.getMessage() for r in caplog.records)
    assert await job.run(_context(db, FrozenClock(datetime(2026, 12, 1, 14, 0, tzinfo=SHANGHAI)))) is None  # once a day
    await clocks.load(calendar.parse(SCHEDULE_2027.encode()), source_name="2027.csv", sha256="0" * 64,
                      actor="operator:王运维", clock=december)
    assert await job.run(_context(db, december)) is None


async def test_the_periodic_table_ends_publications_whose_period_ran_out(db, frozen):
    decision = await published(db, frozen)
    assert await _job("end_publications").run(_context(db, frozen)) == 0
    later = FrozenClock(datetime(2027, 11, 21, 0, 30, tzinfo=SHANGHAI))
    assert await _job("end_publications").run(_context(db, later)) == 1
    assert (await Decision.get(id=decision.id)).status is DecisionStatus.ENDED
