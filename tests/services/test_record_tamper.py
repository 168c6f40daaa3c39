"""The full-process record cannot be changed quietly (R-R4): every record, evidence file, decision
event, review event and credential change is a leaf of the transparency log, and
``yangguang audit verify`` compares the domain's rows and files with their leaves. Each change made
behind the service's back -- plain SQL on SQLite and PostgreSQL, files overwritten or removed -- is
named; an untouched installation passes."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from tortoise import connections

from backend.clock import FrozenClock
from backend.models import (
    CaseRecord,
    CredentialEvent,
    Decision,
    DecisionVersion,
    Evidence,
    LogLeaf,
    RegisterEvent,
    RegisterVersion,
)
from backend.models.enums import EvidenceKind, RecordStep, SignatureState
from backend.services import cases, decisions
from backend.services.records import entries, evidence
from backend.services.registers import versions
from backend.services.transparency import checkpoints
from tests.factories import an_agency, previewed
from tests.services.test_case_records import NOW, a_world
from tests.services.test_registers import make_public, propose
from tests.support.processes import cli_env, run_cli

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x01" * 5000


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW - timedelta(days=30))


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def an_installation(db, frozen):  # type: ignore[no-untyped-def]
    """A case worked end to end: records, a video, a published decision, a signed checkpoint."""
    world = await a_world(db, frozen)
    world.clock.at = NOW
    facts = evidence.EvidenceInput(EvidenceKind.AUDIO_VIDEO, NOW, "现场", None, "现场情况")
    video = await evidence.add(world.case, facts, _chunks(MP4), "key:test", world.clock, data_dir=db.data_dir,
                               max_bytes=10**7)
    await world.add(world.step(RecordStep.SEIZURE, party_signature=SignatureState.SIGNED, evidence_ids=[video.id]))
    await world.add(world.step(text="第二次检查"))
    decision = await decisions.create(world.case.agency_id, world.case.id, {
        "document_no": f"杭西市监罚〔2026〕{world.case.number}号", "summary": "罚款五千元",
        "decided_at": date(2026, 11, 20)}, "key:test", world.clock)
    world.clock.at = NOW + timedelta(minutes=5)
    await decisions.change(db, world.clock, world.case.agency_id, decision.id, "publish", "key:test",
                           preview_hash=await previewed(world.case.agency_id, decision.id))
    return world, video


async def _verify(db) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(run_cli, ["audit", "verify"], cli_env(db.database_url, db.data_dir))


async def _sql(statement: str, params: list | None = None) -> None:  # type: ignore[type-arg]
    await connections.get("default").execute_query(statement, params or [])


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.strip().splitlines()


async def test_every_kind_of_row_has_its_leaf_and_an_untouched_installation_passes(db, frozen):
    await an_installation(db, frozen)
    for model in (CaseRecord, Evidence, DecisionVersion, CredentialEvent):
        assert await model.filter(leaf_index__isnull=True).count() == 0, model
    kinds = set(await LogLeaf.all().values_list("kind", flat=True))
    assert kinds == {"case_record", "evidence", "decision_event", "credential_change"}
    assert (await checkpoints.latest()) is not None  # signed after the decision event
    result = await _verify(db)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_a_record_edited_in_the_database_is_named_with_its_leaf(db, frozen):
    world, _ = await an_installation(db, frozen)
    row = await CaseRecord.get(case_id=world.case.id, text="第二次检查")
    await _sql("UPDATE case_record SET text = '从未检查' WHERE id = " + str(row.id))
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == [f"leaf {row.leaf_index}: edited: 执法环节记录与日志不符（text）"]


async def test_a_decision_event_edited_is_named(db, frozen):
    await an_installation(db, frozen)
    version = await DecisionVersion.first()
    await _sql("UPDATE decision_version SET public_text = '罚款五十元' WHERE leaf_index = " + str(version.leaf_index))
    result = await _verify(db)
    assert _lines(result) == [f"leaf {version.leaf_index}: edited: 执法决定公示事件与日志不符（public_text）"]


async def test_a_record_deleted_from_the_database_is_named(db, frozen):
    world, _ = await an_installation(db, frozen)
    row = await CaseRecord.get(case_id=world.case.id, text="第二次检查")
    await _sql("DELETE FROM case_record WHERE id = " + str(row.id))
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == [f"leaf {row.leaf_index}: deleted: 执法环节记录已从数据库中删除（日志仍有其条目）"]


async def test_a_record_inserted_behind_the_services_back_is_named(db, frozen):
    world, _ = await an_installation(db, frozen)
    await CaseRecord.create(case_id=world.case.id, seq=99, step=RecordStep.INVESTIGATION, occurred_at=NOW,
                            text="补写的记录")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["row: inserted: 执法环节记录（表 case_record）没有日志条目"]


async def test_swapping_two_records_order_is_seen_on_both(db, frozen):
    world, _ = await an_installation(db, frozen)
    a, b = await CaseRecord.filter(case_id=world.case.id, step__in=[RecordStep.SEIZURE, RecordStep.INVESTIGATION]
                                   ).order_by("seq").limit(2)
    await _sql(f"UPDATE case_record SET seq = -1 WHERE id = {a.id}")
    await _sql(f"UPDATE case_record SET seq = {a.seq} WHERE id = {b.id}")
    await _sql(f"UPDATE case_record SET seq = {b.seq} WHERE id = {a.id}")
    lines = _lines(await _verify(db))
    assert sorted(lines) == sorted(f"leaf {r.leaf_index}: edited: 执法环节记录与日志不符（seq）" for r in (a, b))


async def test_an_evidence_file_overwritten_or_removed_is_named(db, frozen):
    _, video = await an_installation(db, frozen)
    path = evidence.stored_path(db.data_dir, video.sha256)
    path.write_bytes(MP4[:-1] + b"\x02")
    lines = _lines(await _verify(db))
    changed = f"leaf {video.leaf_index}: evidence_file_changed: 证据文件已被改动（SHA-256 不符）：{video.number}"
    assert lines == [changed]
    path.unlink()
    lines = _lines(await _verify(db))
    assert lines == [f"leaf {video.leaf_index}: evidence_file_missing: 证据文件已丢失：{video.number}"]


async def test_deleting_the_newest_rows_and_their_leaves_is_caught_by_the_checkpoint(db, frozen):
    await an_installation(db, frozen)
    newest = await LogLeaf.all().order_by("-leaf_index").first()
    assert newest is not None and newest.kind == "case_record"  # the publication entry, after its version
    await _sql(f"DELETE FROM case_record WHERE leaf_index = {newest.leaf_index}")
    await _sql(f"DELETE FROM log_leaf WHERE leaf_index = {newest.leaf_index}")
    result = await _verify(db)
    assert result.returncode == 3
    assert any(line.startswith(f"leaf {newest.leaf_index}: deleted:") for line in _lines(result)), result.stdout


async def test_records_written_through_the_service_verify_with_the_log_entry_the_api_serves(db, frozen):
    world, _ = await an_installation(db, frozen)
    row = await CaseRecord.filter(case_id=world.case.id).order_by("-seq").first()
    assert row is not None and row.leaf_index is not None
    leaf = await LogLeaf.get(leaf_index=row.leaf_index)
    import orjson

    assert orjson.loads(leaf.content)["data"] == entries.leaf_content(row, world.case.agency_id)


async def test_a_register_version_edited_behind_the_services_back_is_named(db, frozen):
    # A public register item whose content or state was changed with plain SQL: every step of it no
    # longer matches its leaf, or its state is not the one its last logged step left.
    agency = await an_agency()
    row = await make_public(agency.agency.id, await propose(agency.agency.id, frozen), frozen)
    steps = (await versions.steps_of([row.id]))[row.id]
    assert (await _verify(db)).returncode == 0
    await RegisterVersion.filter(id=row.id).update(content={**row.content, "legal_basis": "《食品安全法》第一百条"})
    result = await _verify(db)
    assert result.returncode == 3
    assert sorted(_lines(result)) == sorted(f"leaf {e.leaf_index}: edited: 公开事项版本环节与日志不符（content_sha256）"
                                            for e in steps)
    await RegisterVersion.filter(id=row.id).update(content=row.content)
    assert (await _verify(db)).returncode == 0
    # Unpublished quietly: the version's state, or the state of its last step too.
    await RegisterVersion.filter(id=row.id).update(state="approved")
    assert _lines(await _verify(db)) == [f"leaf {steps[-1].leaf_index}: edited: "
                                         "公开事项版本的状态（approved）与日志中最后一个环节的状态（published）不符"]
    await RegisterEvent.filter(id=steps[-1].id).update(state="approved")
    assert _lines(await _verify(db)) == [f"leaf {steps[-1].leaf_index}: edited: 公开事项版本环节与日志不符（state）"]
    # A version written straight into the table has no step in the log.
    await RegisterEvent.filter(id=steps[-1].id).update(state="published")
    await RegisterVersion.filter(id=row.id).update(state="published")
    forged = await RegisterVersion.create(item_id=row.item_id, agency_id=row.agency_id, kind=row.kind, version=9,
                                          title="伪造", content={}, effective_from=row.effective_from,
                                          state="published", changed_on=row.changed_on,
                                          publish_due_on=row.publish_due_on, author="x", author_name="x")
    assert _lines(await _verify(db)) == [f"row: inserted: 公开事项版本 {forged.id}（表 register_version）没有日志条目"]


async def test_a_decision_withdrawn_or_published_quietly_is_named(db, frozen):
    # The public pages read the decision's status: it must be the one its newest version left, and a
    # decision with no version is a draft.
    world, _ = await an_installation(db, frozen)
    published = await Decision.get(case_id=world.case.id)
    version = await DecisionVersion.filter(decision_id=published.id).order_by("-leaf_index").first()
    assert version is not None
    other_case, _ = await cases.create_case(world.case.agency_id, {
        "title": "无照经营", "type": "penalty", "parties": [{"kind": "organization", "name": "杭州某某有限公司"}]},
        "key:test", world.clock)
    draft = await decisions.create(world.case.agency_id, other_case.id, {
        "document_no": "杭西市监罚〔2026〕草1号", "summary": "尚未公示", "decided_at": date(2026, 11, 21)},
        "key:test", world.clock)
    assert (await _verify(db)).returncode == 0
    await Decision.filter(id=published.id).update(status="withdrawn")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == [f"leaf {version.leaf_index}: edited: "
                              "执法决定的状态（withdrawn）与日志中最后一个环节的状态（published）不符"]
    await Decision.filter(id=published.id).update(status="published")
    await Decision.filter(id=draft.id).update(status="published")
    assert _lines(await _verify(db)) == [
        f"row: edited: 执法决定 {draft.id} 的状态（published）不是尚无环节时的状态（draft）"]
