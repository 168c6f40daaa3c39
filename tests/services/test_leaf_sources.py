"""The audit's fast path to the domain's rows (``services/leaf_sources.py``) agrees with the ORM.

``audit verify`` reads a million rows raw and builds the model instances itself (tortoise's own
loading costs about 80 µs a row); each leaf's content is then rebuilt by the function that wrote
it. These tests hold that path to the ORM for every leaf-source kind on SQLite and PostgreSQL:
every field of every row, the content each row gives, and the content the log holds. Edits of every
kind made with plain SQL are still named, and a value no writer gives is named, not a traceback.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise import connections

from backend.clock import FrozenClock
from backend.models import (
    Case,
    CaseRecord,
    CaseRemedy,
    Complaint,
    ComplaintEvent,
    Credential,
    CredentialEvent,
    Decision,
    DecisionVersion,
    Evidence,
    LegalReviewEvent,
    LogLeaf,
    Officer,
    Rectification,
    RectificationEvent,
    RegisterEvent,
    RegisterVersion,
    StatisticsReport,
    StatisticsVersion,
)
from backend.models.enums import LeafKind, RecordStep, RemedyKind, ServiceMethod, SignatureState
from backend.services import leaf_sources, remedies, statistics
from backend.services.complaints import handling
from backend.services.supervision import rectifications
from backend.services.transparency import checkpoints, log
from backend.services.transparency.verify import Report, audit
from tests.services import test_complaints, test_legal_review, test_rectifications, test_registers, test_statistics
from tests.services.test_case_records import NOW
from tests.services.test_record_tamper import an_installation


async def _agency_of_case(row: Any) -> Any:
    return (await Case.get(id=row.case_id)).agency_id


async def _agency_of_credential(row: Any) -> Any:
    credential = await Credential.get(id=row.credential_id)
    return (await Officer.get(id=credential.officer_id)).agency_id


async def _decision(row: Any) -> Any:
    return await Decision.get(id=row.decision_id)


async def _complaint(row: Any) -> Any:
    return await Complaint.get(id=row.complaint_id)


async def _nothing(row: Any) -> Any:
    return None


async def _rectification(row: Any) -> Any:
    return await Rectification.get(id=row.rectification_id)


async def _report(row: Any) -> Any:
    return await StatisticsReport.get(id=row.report_id)


async def _register_version(row: Any) -> Any:
    return await RegisterVersion.get(id=row.version_id)


# What the ORM path hands the writer's function besides the row, per source table.
ORM_EXTRA = {
    CaseRecord: _agency_of_case, Evidence: _agency_of_case, LegalReviewEvent: _agency_of_case,
    DecisionVersion: _decision, CredentialEvent: _agency_of_credential, Complaint: _nothing,
    ComplaintEvent: _complaint, RectificationEvent: _rectification, CaseRemedy: _nothing,
    StatisticsVersion: _report, RegisterEvent: _register_version,
}


async def every_kind(db, frozen: FrozenClock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """An installation with a leaf of every kind, optional fields both empty and set."""
    world, _ = await an_installation(db, frozen)
    first = await CaseRecord.filter(case_id=world.case.id).order_by("seq").first()
    assert first is not None
    await world.add(world.step(RecordStep.SERVICE, service_method=ServiceMethod.DIRECT,
                               party_signature=SignatureState.REFUSED, refusal_note="当事人拒绝签收",
                               corrects=first.seq))
    review_world = await test_legal_review.a_world(FrozenClock(NOW))
    await review_world.opinion(await review_world.submit())  # review_event (submit) and review_opinion
    c_world = await test_complaints.a_world(db, FrozenClock(test_complaints.FRIDAY))
    c_clock = FrozenClock(test_complaints.FRIDAY)
    placed = await test_complaints.a_complaint(db, c_clock, c_world, latitude=30.2741, longitude=120.1551,
                                               address="西湖区某路1号")
    await handling.act(db, c_clock, c_world.admin, placed.complaint.id, "acknowledge", "key:test", "已受理")
    await test_complaints.a_complaint(db, c_clock, c_world, text="没有坐标的投诉")
    r_world = await test_rectifications.a_world()
    r_clock = FrozenClock(test_rectifications.FRIDAY)
    order = await rectifications.order(test_rectifications.an_order(r_world, r_clock), r_world.body.id,
                                       test_rectifications.BOSS, r_clock)
    await rectifications.answer(order.id, r_world.a.id, "已整改", None, test_rectifications.CLERK, r_clock)
    s_clock = FrozenClock(test_statistics.at(2026, 1, 10, 10, 0))
    s_case = await test_statistics.a_case(r_world.a.id, FrozenClock(test_statistics.at(2025, 3, 1, 9, 0)))
    await remedies.record(r_world.a.id, s_case.id, test_statistics.remedy(
        kind=RemedyKind.RECONSIDERATION, filed_on=date(2025, 3, 2)), "test", s_clock)
    await statistics.submit(r_world.a.id, 2025, "test", s_clock)
    g_clock = FrozenClock(NOW)
    await test_registers.make_public(r_world.a.id, await test_registers.propose(r_world.a.id, g_clock), g_clock)
    counts: dict[str, int] = {}
    for kind in await LogLeaf.all().values_list("kind", flat=True):
        counts[str(kind)] = counts.get(str(kind), 0) + 1
    return counts


def _typed(value: Any) -> Any:
    """A value with what equality ignores: its type, and a datetime's offset."""
    if isinstance(value, datetime):
        return (type(value), value, value.utcoffset())
    if isinstance(value, Decimal):
        return (type(value), str(value))
    return (type(value), value)


async def test_the_raw_path_builds_every_field_of_every_kind_as_the_orm_and_the_leaf_the_writer_wrote(db):
    frozen = FrozenClock(NOW - timedelta(days=30))
    counts = await every_kind(db, frozen)
    assert set(counts) == {k.value for k in LeafKind}, counts  # the installation has every kind
    size = await log.tree_size()
    for src in leaf_sources.SOURCES:
        fast = await leaf_sources.rebuilt(src, 0, size)
        orm_rows = await src.model.filter(leaf_index__isnull=False)
        assert orm_rows and len(fast) == len(orm_rows), src.words
        names = [name for _, name, _ in (src.model._meta.db_native_fields + src.model._meta.db_default_fields
                                          + src.model._meta.db_complex_fields)]
        for orm_row in orm_rows:
            row, content = fast[orm_row.leaf_index]
            for name in names:
                assert _typed(getattr(row, name)) == _typed(getattr(orm_row, name)), (src.words, name)
            expected = src.content(orm_row, await ORM_EXTRA[src.model](orm_row))
            assert content == expected, src.words
            entry = await log.entry(orm_row.leaf_index, None)
            assert entry.kind in {k.value for k in src.kinds} and entry.content["data"] == content, src.words


async def _audit(db) -> Report:  # type: ignore[no-untyped-def]
    keys = checkpoints.LogKeys(db.data_dir).verifiers()
    report = await audit(keys, sources=leaf_sources.registry(db.data_dir))
    report.problems.extend(await leaf_sources.rows_against_log())
    return report


async def _sql(statement: str, params: list[Any]) -> None:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        for i in range(len(params)):
            statement = statement.replace("?", f"${i + 1}", 1)
    await conn.execute_query(statement, params)


# One edit per source table, each of a column its leaf commits to (text, number, datetime, enum, JSON, UUID).
EDITS = [
    ("case_record", "place", "别处", "执法环节记录", "place"),
    ("case_record", "occurred_at", "2026-11-20 01:00:00.000001+00:00", "执法环节记录", "occurred_at"),
    ("case_record", "officers", '[{"officer_id": "某人"}]', "执法环节记录", "officers"),
    ("evidence", "proves", "无关事实", "证据", "proves"),
    ("decision_version", "reason", "另有理由", "执法决定公示事件", "reason"),
    ("credential_event", "status_after", "revoked", "证件变更", "status_after"),
    ("legal_review_event", "data", '{"round": 9}', "法制审核事件", "data"),
    ("complaint", "anonymous", True, "投诉举报", "anonymous"),
    ("complaint_event", "actor_name", "别人", "投诉办理环节", "actor_name"),
    ("rectification_event", "text", "从未整改", "责令整改环节", "text_digest"),
    ("case_remedy", "outcome", "revoked", "行政复议或诉讼登记", "outcome"),
    ("statistics_version", "figures", "{}", "统计年报报送版本", "figures"),
    ("register_event", "note", "另有意见", "公开事项版本环节", "note_sha256"),
]


@pytest.mark.parametrize(("table", "column", "value", "words", "field"), EDITS)
async def test_an_edit_of_any_kind_of_row_is_named_with_its_leaf_and_field(db, table, column, value, words, field):
    await every_kind(db, FrozenClock(NOW - timedelta(days=30)))
    assert (await _audit(db)).ok
    conn = connections.get("default")
    _, rows = await conn.execute_query(f'SELECT leaf_index FROM "{table}" ORDER BY leaf_index')
    leaf_index = rows[-1][0]
    if column == "anonymous":
        _, flag = await conn.execute_query(f"SELECT anonymous FROM complaint WHERE leaf_index = {leaf_index}")
        value = not flag[0][0]
    pg_type = {"officers": "JSONB", "data": "JSONB", "figures": "JSONB", "occurred_at": "TIMESTAMPTZ"}.get(column)
    if conn.capabilities.dialect == "postgres" and pg_type is not None:  # the text as a psql user types it
        await _sql(f'UPDATE "{table}" SET "{column}" = CAST(CAST(? AS TEXT) AS {pg_type}) WHERE leaf_index = ?',
                   [value, leaf_index])
    else:
        await _sql(f'UPDATE "{table}" SET "{column}" = ? WHERE leaf_index = ?', [value, leaf_index])
    lines = [p.line() for p in (await _audit(db)).problems]
    expected = [f"leaf {leaf_index}: edited: {words}与日志不符（{field}）"]
    if table == "rectification_event":  # the newest step is the answer: the order repeats its text
        _, order = await conn.execute_query(f"SELECT rectification_id FROM rectification_event WHERE leaf_index = "
                                            f"{leaf_index}")
        expected.append(f"row: edited: 责令整改 {order[0][0]} 的答复内容与日志中最后一次相应环节不符")
    assert lines == expected


async def test_a_value_no_writer_gives_is_named_as_an_edit_not_a_traceback(db):
    world, _ = await an_installation(db, FrozenClock(NOW - timedelta(days=30)))
    row = await CaseRecord.get(case_id=world.case.id, text="第二次检查")
    await _sql("UPDATE case_record SET step = ? WHERE id = ?", ["no_such_step", row.id])
    lines = [p.line() for p in (await _audit(db)).problems]
    assert lines == [f"leaf {row.leaf_index}: edited: 执法环节记录的字段值无法读取（被改为无效的值）"]


async def test_rows_are_read_by_their_leaf_range_whatever_else_lies_between(db):
    """A batch of one kind spans leaves of other kinds: only its own rows answer, none is missed."""
    await every_kind(db, FrozenClock(NOW - timedelta(days=30)))
    size = await log.tree_size()
    for src in leaf_sources.SOURCES:
        claimed = sorted(await src.model.filter(leaf_index__isnull=False).values_list("leaf_index", flat=True))
        middle = claimed[len(claimed) // 2:]
        got = await leaf_sources.rebuilt(src, middle[0], size)
        assert sorted(got) == middle, src.words


def test_edits_cover_every_source_table():
    assert {e[0] for e in EDITS} == {s.model._meta.db_table for s in leaf_sources.SOURCES}



async def test_a_state_edited_behind_the_services_back_is_named_for_every_row_whose_steps_carry_it(db):
    # A register version, a decision, a complaint and an order to rectify each hold the state their
    # newest logged step left: a quiet withdrawal, republication, closing or acceptance is named.
    await every_kind(db, FrozenClock(NOW - timedelta(days=30)))
    assert (await _audit(db)).ok
    conn = connections.get("default")
    assert {h.model for h in leaf_sources.HEADS} == {RegisterVersion, Decision, Complaint, Rectification}
    for head in leaf_sources.HEADS:
        table, steps = head.model._meta.db_table, head.steps._meta.db_table
        _, rows = await conn.execute_query(f'SELECT {head.fk}, leaf_index FROM "{steps}" ORDER BY leaf_index DESC')
        row_id, leaf_index = rows[0]
        _, current = await conn.execute_query(f'SELECT "{head.column}" FROM "{table}" WHERE id = ?'
                                              .replace("?", "$1" if conn.capabilities.dialect == "postgres" else "?"),
                                              [row_id])
        now = str(current[0][0])
        other = next(m.value for m in head.model._meta.fields_map[head.column].enum_type if m.value != now)
        await _sql(f'UPDATE "{table}" SET "{head.column}" = ? WHERE id = ?', [other, row_id])
        lines = [p.line() for p in (await _audit(db)).problems]
        assert lines == [f"leaf {leaf_index}: edited: {head.words}的状态（{other}）"
                         f"与日志中最后一个环节的状态（{now}）不符"]
        await _sql(f'UPDATE "{table}" SET "{head.column}" = ? WHERE id = ?', [now, row_id])
    assert (await _audit(db)).ok
    # A complaint with no step yet is as it was filed.
    quiet = await Complaint.get(text="没有坐标的投诉")
    assert not await ComplaintEvent.filter(complaint_id=quiet.id).exists()
    await Complaint.filter(id=quiet.id).update(status="closed")  # an UPDATE, not through the service
    assert [p.line() for p in (await _audit(db)).problems] == [
        f"row: edited: 投诉举报 {quiet.id} 的状态（closed）不是尚无环节时的状态（submitted）"]


async def test_an_answer_rewritten_behind_the_services_back_is_named(db):
    # The answer a complainant reads and an agency's written answer to an order repeat their newest
    # answer step: rewritten in the table alone, or set where no answer was given, they are named.
    await every_kind(db, FrozenClock(NOW - timedelta(days=30)))
    order = await Rectification.get(answer="已整改")
    await Rectification.filter(id=order.id).update(answer="早已全部整改完毕")
    assert [p.line() for p in (await _audit(db)).problems] == [f"row: edited: 责令整改 {order.id} 的答复内容与日志中"
                                                               "最后一次相应环节不符"]
    await Rectification.filter(id=order.id).update(answer="已整改")
    quiet = await Complaint.get(text="没有坐标的投诉")
    await Complaint.filter(id=quiet.id).update(answer="已处理完毕")
    assert [p.line() for p in (await _audit(db)).problems] == [f"row: edited: 投诉举报 {quiet.id} 的答复内容与日志中"
                                                               "最后一次相应环节不符"]
    await Complaint.filter(id=quiet.id).update(answer="")
    assert (await _audit(db)).ok
