"""Annual statistics (R-P6) at the service level: reconsiderations and lawsuits recorded on a case
(append-only, each entry a leaf, who recorded it), the figures of a year on the Asia/Shanghai
calendar, submission and publication through the STATISTICS table, and both deadlines in the
overdue view and the gauge on exactly the day after."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from tortoise import connections

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from backend.models import AuditEvent, CaseRemedy, Decision, LogLeaf, StatisticsVersion
from backend.models.enums import AgencyKind, RemedyKind, RemedyOutcome, StatisticsStatus
from backend.services import cases, decisions, gauges, remedies, statistics
from backend.services.remedies import RemedyInput
from tests.factories import a_supervisor, an_agency
from tests.support.processes import cli_env, run_cli

D = date
R, L = RemedyKind.RECONSIDERATION, RemedyKind.LITIGATION
Out = RemedyOutcome


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(at(2026, 1, 10, 10, 0))


async def a_case(agency_id: uuid.UUID, clock: FrozenClock, type: str = "penalty", party: str = "张三丰"):  # type: ignore[no-untyped-def]
    case, _ = await cases.create_case(agency_id, {"title": "无照经营", "type": type, "parties": [
        {"kind": "person", "name": party, "phone": "13800138000", "id_number": "330106199001011234"}]}, "test", clock)
    return case


async def a_decision(case: Any, clock: FrozenClock, decided_at: date, amount: str | None = None,
                     measures: list[str] | None = None) -> Decision:
    return await decisions.create(case.agency_id, case.id, {
        "document_no": f"杭西市监罚〔{decided_at.year}〕{case.number}号", "summary": "依法作出决定",
        "decided_at": decided_at, "amount": Decimal(amount) if amount else None, "measures": measures}, "test", clock)


def remedy(outcome: RemedyOutcome = Out.PENDING, **kw: Any) -> RemedyInput:
    defaults: dict[str, Any] = {} if "proceeding_id" in kw else {"authority": "杭州市西湖区人民政府"}
    return RemedyInput(outcome=outcome, **{**defaults, **kw})


async def record(*args: Any) -> CaseRemedy:
    return (await remedies.record(*args)).entry


# -- remedies ---------------------------------------------------------------------------------------

async def test_a_proceeding_is_filed_then_decided_then_appealed_each_a_new_entry_saying_who(db, frozen):
    agency = (await an_agency()).agency
    case = await a_case(agency.id, frozen)
    decision = await a_decision(case, frozen, D(2026, 1, 5), "500.00", ["fine"])
    filed = await record(agency.id, case.id, remedy(kind=L, decision_id=decision.id, filed_on=D(2026, 1, 6),
                                                             authority="杭州市西湖区人民法院"), "key:x", frozen)
    assert (filed.seq, filed.proceeding_id, filed.outcome, filed.decision_id) == (1, filed.id, Out.PENDING, decision.id)
    assert filed.leaf_index is not None and filed.actor_name == "key:x"
    frozen.advance(days=20)
    judged = await record(agency.id, case.id, remedy(
        Out.UPHELD, proceeding_id=filed.id, decided_on=D(2026, 1, 28), document_no="（2026）浙0106行初5号"),
        "test", frozen)
    assert (judged.seq, judged.kind, judged.filed_on, judged.decision_id) == (2, L, D(2026, 1, 6), decision.id)
    assert judged.authority == "杭州市西湖区人民法院"  # carried over when not given
    appealed = await record(agency.id, case.id, remedy(proceeding_id=filed.id, authority="杭州市中级人民法院"),
                                     "test", frozen)
    assert appealed.seq == 3 and appealed.outcome is Out.PENDING
    # An appeal of a pending proceeding means nothing: the REMEDY table refuses it.
    with pytest.raises(IllegalTransition) as refused:
        await record(agency.id, case.id, remedy(proceeding_id=filed.id), "test", frozen)
    assert refused.value.code == "remedy_reopen_not_allowed"
    with pytest.raises(ValidationFailed) as bad:
        await record(agency.id, case.id, remedy(Out.REVOKED, proceeding_id=filed.id,
                                                         decided_on=D(2026, 1, 27)), "test", frozen)
    assert bad.value.code == "remedy_outcome_before_last"
    with pytest.raises(ValidationFailed) as bad:
        await record(agency.id, case.id, remedy(Out.REVOKED, proceeding_id=filed.id, kind=R,
                                                         decided_on=D(2026, 1, 29)), "test", frozen)
    assert bad.value.code == "remedy_kind_mismatch"
    rows = await remedies.for_case(agency.id, case.id)
    assert [(r.seq, r.outcome) for r in rows] == [(1, Out.PENDING), (2, Out.UPHELD), (3, Out.PENDING)]
    assert await AuditEvent.filter(action="case.remedy", target_id=str(case.id)).count() == 3
    assert await LogLeaf.filter(kind="remedy").count() == 3


async def test_a_remedy_entry_is_refused_when_it_cannot_be_right(db, frozen):
    agency, other = (await an_agency()).agency, (await an_agency("另一局")).agency
    case = await a_case(agency.id, frozen)
    decision = await a_decision(case, frozen, D(2026, 1, 8))
    cases_of = [
        (remedy(filed_on=D(2026, 1, 9)), "remedy_kind_required"),
        (remedy(kind=R), "remedy_filed_on_required"),
        (remedy(kind=R, filed_on=D(2026, 1, 9), authority=""), "remedy_authority_required"),
        (remedy(kind=R, filed_on=D(2026, 1, 11)), "remedy_date_in_future"),
        (remedy(Out.UPHELD, kind=R, filed_on=D(2026, 1, 9)), "remedy_decided_on_required"),
        (remedy(kind=R, filed_on=D(2026, 1, 9), decided_on=D(2026, 1, 9)), "remedy_pending_has_date"),
        (remedy(Out.UPHELD, kind=R, filed_on=D(2026, 1, 9), decided_on=D(2026, 1, 8)), "remedy_decided_before_filed"),
        (remedy(Out.UPHELD, kind=R, filed_on=D(2026, 1, 9), decided_on=D(2026, 1, 11)), "remedy_date_in_future"),
        (remedy(kind=R, filed_on=D(2026, 1, 7), decision_id=decision.id), "remedy_filed_before_decision"),
    ]
    for data, code in cases_of:
        with pytest.raises(ValidationFailed) as bad:
            await record(agency.id, case.id, data, "test", frozen)
        assert bad.value.code == code, data
    with pytest.raises(NotFound) as missing:  # another agency's case does not exist for this one
        await record(other.id, case.id, remedy(kind=R, filed_on=D(2026, 1, 9)), "test", frozen)
    assert missing.value.code == "case_not_found"
    with pytest.raises(NotFound) as missing:
        await record(agency.id, case.id, remedy(proceeding_id=uuid.uuid4()), "test", frozen)
    assert missing.value.code == "remedy_not_found"
    other_case = await a_case(agency.id, frozen)
    with pytest.raises(NotFound) as missing:  # a decision of another case
        await record(agency.id, other_case.id, remedy(kind=R, filed_on=D(2026, 1, 9), decision_id=decision.id),
                              "test", frozen)
    assert missing.value.code == "decision_not_found"
    assert await CaseRemedy.all().count() == 0


# -- the figures ------------------------------------------------------------------------------------

async def test_the_figures_of_a_year_count_what_was_recorded_on_the_shanghai_calendar(db, frozen):
    agency, other = (await an_agency()).agency, (await an_agency("另一局")).agency
    frozen.at = at(2025, 12, 31, 23, 30)
    late_2025 = await a_case(agency.id, frozen)  # 15:30 UTC: still 2025 in Shanghai
    both = await a_case(agency.id, frozen)
    permit = await a_case(agency.id, frozen, "permit")
    frozen.at = at(2026, 1, 1, 0, 30)  # 2025-12-31 16:30 UTC: 2026 in Shanghai
    early_2026 = await a_case(agency.id, frozen)
    foreign = await a_case(other.id, frozen)
    frozen.at = at(2026, 1, 20, 9, 0)
    await a_decision(late_2025, frozen, D(2025, 12, 31), "5000.00", ["fine", "warning"])
    await a_decision(both, frozen, D(2025, 12, 1), "1234.56", ["confiscation", "fine"])
    await a_decision(permit, frozen, D(2025, 12, 30))
    await a_decision(early_2026, frozen, D(2026, 1, 1), "300.00", ["fine"])  # 2026
    await a_decision(foreign, frozen, D(2025, 12, 31), "999.99", ["fine"])  # another agency
    filed = await record(agency.id, late_2025.id, remedy(kind=R, filed_on=D(2025, 12, 31)), "test", frozen)
    await record(agency.id, late_2025.id, remedy(Out.REVOKED, proceeding_id=filed.id,
                                                          decided_on=D(2026, 1, 15)), "test", frozen)
    await record(agency.id, both.id, remedy(Out.UPHELD, kind=L, filed_on=D(2025, 12, 10),
                                                     decided_on=D(2025, 12, 20), authority="西湖区人民法院"),
                          "test", frozen)
    await record(agency.id, permit.id, remedy(kind=R, filed_on=D(2025, 12, 31)), "test", frozen)
    await record(agency.id, early_2026.id, remedy(kind=R, filed_on=D(2026, 1, 2)), "test", frozen)

    figures = await statistics.compute(agency.id, 2025)
    penalty = figures["by_type"]["penalty"]
    assert (penalty["cases"], penalty["decisions"]) == (2, 2)
    assert penalty["amount_fen"] == 500000 + 123456
    assert penalty["amounts_fen"] == {"fine": 500000, "confiscation": 0, "fine_and_confiscation": 123456, "other": 0}
    assert {k: v for k, v in penalty["measures"].items() if v} == {"fine": 2, "confiscation": 1, "warning": 1}
    assert penalty["reconsideration"]["count"] == 1
    assert {k: v for k, v in penalty["reconsideration"]["outcomes"].items() if v} == {"revoked": 1}
    assert {k: v for k, v in penalty["litigation"]["outcomes"].items() if v} == {"upheld": 1}
    permits = figures["by_type"]["permit"]
    assert (permits["cases"], permits["decisions"], permits["amount_fen"]) == (1, 1, 0)
    assert {k: v for k, v in permits["reconsideration"]["outcomes"].items() if v} == {"pending": 1}
    assert set(figures["by_type"]) == {"penalty", "permit", "coercion", "inspection", "collection", "other"}
    total = figures["total"]
    assert (total["cases"], total["decisions"], total["amount_fen"]) == (3, 3, 623456)
    assert (total["reconsideration"]["count"], total["litigation"]["count"]) == (2, 1)
    later = await statistics.compute(agency.id, 2026)
    assert (later["total"]["cases"], later["total"]["decisions"], later["total"]["amount_fen"]) == (1, 1, 30000)
    assert later["total"]["reconsideration"]["count"] == 1
    assert (await statistics.compute(other.id, 2025))["total"]["amount_fen"] == 99999
    assert "张三丰" not in str(figures) and "1380013" not in str(figures)  # counts and sums only


# -- submission and publication ---------------------------------------------------------------------

def test_a_year_is_four_digits_and_over_before_it_is_reported():
    clock = FrozenClock(at(2026, 1, 10, 10, 0))
    for raw, code in (("0", "statistics_year_invalid"), ("99999", "statistics_year_invalid"),
                      ("1999", "statistics_year_invalid"), ("20x5", "statistics_year_invalid"),
                      ("", "statistics_year_invalid"), ("２０２５", "statistics_year_invalid"),
                      ("2027", "statistics_year_in_future")):
        with pytest.raises(ValidationFailed) as bad:
            statistics.parse_year(raw, clock)
        assert bad.value.code == code, raw
    assert statistics.parse_year("2026", clock) == 2026  # this year's running figures may be read
    with pytest.raises(ValidationFailed) as bad:
        statistics.parse_year("2026", clock, ended=True)
    assert bad.value.code == "statistics_year_not_over"
    assert statistics.parse_year("2025", clock, ended=True) == 2025


async def test_a_report_is_frozen_when_submitted_published_after_and_corrected_by_a_new_version(db, frozen):
    agency, other = (await an_agency()).agency, (await an_agency("另一局")).agency
    case = await a_case(agency.id, FrozenClock(at(2025, 6, 1, 9, 0)))
    await a_decision(case, frozen, D(2025, 6, 2), "200.00", ["fine"])
    with pytest.raises(IllegalTransition) as refused:
        await statistics.publish(agency.id, 2025, "test", frozen)
    assert refused.value.code == "statistics_publish_not_allowed"
    assert "未报送" in refused.value.message

    first = await statistics.submit(agency.id, 2025, "key:a", frozen)
    assert (first.version, first.figures["total"]["amount_fen"], first.leaf_index is not None) == (1, 20000, True)
    late = await a_case(agency.id, FrozenClock(at(2025, 7, 1, 9, 0)))
    await a_decision(late, frozen, D(2025, 7, 2), "100.00", ["fine"])  # recorded after the submission
    seen = await statistics.view(agency.id, 2025)
    assert seen.status is StatisticsStatus.SUBMITTED
    assert (seen.versions[0].figures["total"]["amount_fen"], seen.live["total"]["amount_fen"]) == (20000, 30000)
    assert (await statistics.published(2025, agency_id=None, page=1, page_size=20))[1] == 0  # not public yet

    with pytest.raises(ValidationFailed) as bad:
        await statistics.submit(agency.id, 2025, "test", frozen)
    assert bad.value.code == "statistics_reason_required"
    second = await statistics.submit(agency.id, 2025, "test", frozen, reason="补录7月的处罚决定")
    assert (second.version, second.figures["total"]["amount_fen"]) == (2, 30000)
    frozen.advance(days=5)
    shown = await statistics.publish(agency.id, 2025, "key:a", frozen)
    assert (shown.version, shown.published_at, shown.published_by_name) == (2, frozen.at, "key:a")
    with pytest.raises(IllegalTransition) as refused:
        await statistics.publish(agency.id, 2025, "test", frozen)
    assert refused.value.code == "statistics_publish_not_allowed"

    rows, total = await statistics.published(2025, agency_id=None, page=1, page_size=20)
    assert total == 1 and (rows[0].agency_id, rows[0].version.version, rows[0].corrections) == (agency.id, 2, 0)
    # A correction after publication: submitted again; the public keeps the published one until it is published.
    await statistics.submit(agency.id, 2025, "test", frozen, reason="更正罚没金额")
    assert (await statistics.view(agency.id, 2025)).status is StatisticsStatus.SUBMITTED
    rows, _ = await statistics.published(2025, agency_id=agency.id, page=1, page_size=20)
    assert rows[0].version.version == 2
    await statistics.publish(agency.id, 2025, "test", frozen)
    rows, _ = await statistics.published(2025, agency_id=agency.id, page=1, page_size=20)
    assert (rows[0].version.version, rows[0].corrections) == (3, 1)
    assert (await statistics.published(2025, agency_id=other.id, page=1, page_size=20))[1] == 0
    assert (await statistics.view(other.id, 2025)).report is None  # B's draft is B's alone
    assert await AuditEvent.filter(action="statistics.submit").count() == 3
    assert await AuditEvent.filter(action="statistics.publish").count() == 2
    supervisor = (await a_supervisor()).agency
    with pytest.raises(Forbidden) as nope:
        await statistics.submit(supervisor.id, 2025, "test", frozen)
    assert nope.value.code == "supervisor_has_no_statistics"


# -- deadlines --------------------------------------------------------------------------------------

async def _overdue(clock: FrozenClock, scope: uuid.UUID | None = None) -> list[tuple[str, str, str, int]]:
    return [(o.agency_name, o.stage, o.colour, o.days_overdue)
            for o in await statistics.overdue(clock, scope=scope)]


async def test_each_deadline_turns_red_on_exactly_the_next_day_in_the_views_and_the_gauge(db):
    a = (await an_agency("甲局")).agency
    b = (await an_agency("乙局")).agency
    await a_supervisor()  # a supervisor owes no report
    await an_agency("受托组织", kind=AgencyKind.ENTRUSTED, entrusted_by=a)  # reports through its agency
    clock = FrozenClock(at(2026, 1, 13, 23, 59))
    assert await _overdue(clock) == []
    clock.at = at(2026, 1, 14, 0, 0)  # due tomorrow
    assert sorted(await _overdue(clock)) == [("乙局", "submission", "yellow", 0), ("甲局", "submission", "yellow", 0)]
    clock.at = at(2026, 1, 15, 23, 59)  # the last day
    assert {o[2] for o in await _overdue(clock)} == {"yellow"}
    assert await statistics.overdue_count(clock) == 0
    assert (await gauges.read(clock)).overdue["statistics"] == 0
    clock.at = at(2026, 1, 16, 0, 0)
    assert sorted(await _overdue(clock)) == [("乙局", "submission", "red", 1), ("甲局", "submission", "red", 1)]
    assert (await gauges.read(clock)).overdue["statistics"] == 2
    assert await _overdue(clock, scope=a.id) == [("甲局", "submission", "red", 1)]

    await statistics.submit(a.id, 2025, "test", clock)  # late, but reported: now its publication clock runs
    assert await _overdue(clock) == [("乙局", "submission", "red", 1)]
    clock.at = at(2026, 1, 31, 12, 0)
    assert sorted(await _overdue(clock)) == [("乙局", "submission", "red", 16), ("甲局", "publication", "yellow", 0)]
    assert (await gauges.read(clock)).overdue["statistics"] == 1
    clock.at = at(2026, 2, 1, 0, 0)
    assert sorted(await _overdue(clock)) == [("乙局", "submission", "red", 17), ("甲局", "publication", "red", 1)]
    assert (await gauges.read(clock)).overdue["statistics"] == 2
    await statistics.publish(a.id, 2025, "test", clock)
    await statistics.submit(b.id, 2025, "test", clock)
    assert await _overdue(clock) == [("乙局", "publication", "red", 1)]
    # A year later: B's 2025 report is still unpublished, and nobody's 2026 report is due yet.
    clock.at = at(2027, 1, 10, 9, 0)
    rows = await statistics.overdue(clock)
    assert [(o.agency_name, o.year, o.stage, o.colour) for o in rows] == [("乙局", 2025, "publication", "red")]


# -- tamper evidence --------------------------------------------------------------------------------

async def test_remedies_and_submitted_versions_edited_behind_the_service_are_named_by_audit_verify(db, frozen):
    agency = (await an_agency()).agency
    case = await a_case(agency.id, FrozenClock(at(2025, 3, 1, 9, 0)))
    entry = await record(agency.id, case.id, remedy(kind=R, filed_on=D(2025, 3, 2)), "test", frozen)
    version = await statistics.submit(agency.id, 2025, "test", frozen)
    env = cli_env(db.database_url, db.data_dir)
    result = await asyncio.to_thread(run_cli, ["audit", "verify"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    conn = connections.get("default")
    await conn.execute_query(f"UPDATE case_remedy SET outcome = 'revoked' WHERE leaf_index = {entry.leaf_index}")
    await conn.execute_query("UPDATE statistics_version SET figures = '{}' WHERE leaf_index = "
                             f"{version.leaf_index}")
    result = await asyncio.to_thread(run_cli, ["audit", "verify"], env)
    assert result.returncode == 3
    assert sorted(result.stdout.strip().splitlines()) == sorted([
        f"leaf {entry.leaf_index}: edited: 行政复议或诉讼登记与日志不符（outcome）",
        f"leaf {version.leaf_index}: edited: 统计年报报送版本与日志不符（figures）"])
    assert await StatisticsVersion.all().count() == 1
