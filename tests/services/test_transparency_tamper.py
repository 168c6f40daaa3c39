"""Tampering with the log in plain SQL, on SQLite and PostgreSQL: ``yangguang audit verify`` names the
leaf and the kind of each change and exits non-zero; an untouched log passes."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest
from tortoise import connections

from backend.clock import FrozenClock
from backend.services.transparency import checkpoints, log, tree
from backend.services.transparency.verify import LeafRecord, LeafSources, Problem, audit
from backend.settings import Settings
from tests.support.processes import cli_env, run_cli

SIZE = 40


async def _log(settings: Settings, clock: FrozenClock, size: int = SIZE) -> None:
    agency = uuid.uuid4()
    for i in range(size):
        await log.append("case_record" if i % 2 else "evidence", {"seq": i, "text": f"记录{i}"},
                         agency_id=agency if i % 3 else None, ref=f"r{i}", clock=clock)
        if i == 19:
            await checkpoints.make_checkpoint(settings, clock)
    await checkpoints.make_checkpoint(settings, clock)


async def _verify(settings: Settings, *extra: str) -> subprocess.CompletedProcess[str]:
    # The leaves here are made up, with no domain rows behind them: the log's own checks only
    # (tests/services/test_record_tamper.py checks the domain's rows and files against the log).
    env = cli_env(settings.database_url, settings.data_dir)
    return await asyncio.to_thread(run_cli, ["audit", "verify", "--log-only", *extra], env)


async def _sql(*statements: str) -> None:
    conn = connections.get("default")
    for statement in statements:
        await conn.execute_query(statement)


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.strip().splitlines()


@pytest.fixture
def frozen(clock):  # type: ignore[no-untyped-def]
    return FrozenClock(clock.now())


async def test_an_untouched_log_passes(db, frozen):
    await _log(db, frozen)
    result = await _verify(db)
    assert result.returncode == 0, result.stdout + result.stderr
    root = (await log.root_at(SIZE)).hex()
    assert f"{SIZE} 条" in result.stdout and root in result.stdout
    cp = Path(db.data_dir) / "cp.txt"
    written = await asyncio.to_thread(run_cli, ["audit", "checkpoint", "--out", str(cp)],
                                      cli_env(db.database_url, db.data_dir))
    assert written.returncode == 0, written.stderr
    result = await _verify(db, "--checkpoint", str(cp))
    assert result.returncode == 0, result.stdout + result.stderr


async def test_an_edited_leaf_is_named(db, frozen):
    await _log(db, frozen)
    await _sql("UPDATE log_leaf SET content = REPLACE(content, '记录7', '记录八') WHERE leaf_index = 7")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["leaf 7: edited: 内容与存储的叶哈希不符（内容被修改）"]


async def test_a_relabelled_leaf_is_named(db, frozen):
    await _log(db, frozen)
    await _sql("UPDATE log_leaf SET kind = 'evidence' WHERE leaf_index = 9")
    result = await _verify(db)
    assert result.returncode == 3 and _lines(result)[0].startswith("leaf 9: edited:")


async def test_a_rewritten_history_with_recomputed_hashes_is_caught_by_the_signed_checkpoints(db, frozen):
    await _log(db, frozen)
    # The forger recomputes leaf 3's hash (not the stored subtree hashes above it, nor the signatures):
    # the subtree hash over leaves 2–3 no longer matches (which of the two changed cannot be told).
    content = log.canonical(log.envelope(3, "case_record", "r3", None, {"seq": 3, "text": "改过"})).decode()
    digest = tree.leaf_hash(content.encode()).hex()
    conn = connections.get("default")
    p = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
    await conn.execute_query(f"UPDATE log_leaf SET content = {p[0]}, leaf_hash = {p[1]} WHERE leaf_index = 3",
                             [content, digest])
    result = await _verify(db)
    assert result.returncode == 3
    lines = _lines(result)
    assert lines[0] == "leaf 2: edited: 叶 2–3 的子树哈希与存储的不符（历史被改写）", lines
    assert any(line.startswith("checkpoint #1 (size 20): edited:") for line in lines), lines


async def test_a_deleted_middle_leaf_is_named(db, frozen):
    await _log(db, frozen)
    await _sql("DELETE FROM log_leaf WHERE leaf_index = 12")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["leaf 12: deleted: 叶 12 不见了"]


async def test_newest_leaves_deleted_after_a_checkpoint_are_named(db, frozen):
    await _log(db, frozen)
    await _sql(f"DELETE FROM log_leaf WHERE leaf_index >= {SIZE - 3}")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == [f"leaf {SIZE - 3}: deleted: 叶 {SIZE - 3}–{SIZE - 1} 不见了（已被签名的检查点覆盖）"]


async def test_an_inserted_leaf_is_named(db, frozen):
    await _log(db, frozen)
    # Make room at 10 and put a copy of another leaf there.
    await _sql("UPDATE log_leaf SET leaf_index = -leaf_index - 1 WHERE leaf_index >= 10",
               "UPDATE log_leaf SET leaf_index = -leaf_index WHERE leaf_index < 0",
               "INSERT INTO log_leaf (leaf_index, kind, ref, agency_id, content, leaf_hash, nodes, created_at) "
               "SELECT 10, kind, ref, agency_id, content, leaf_hash, nodes, created_at FROM log_leaf "
               "WHERE leaf_index = 3")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["leaf 3: inserted: 与叶 3 声明同一序号 3：其中一条是插入的"] or \
        _lines(result) == ["leaf 3: inserted: 与叶 10 声明同一序号 3：其中一条是插入的"], _lines(result)


async def test_a_row_the_log_never_wrote_is_named_as_inserted(db, frozen):
    await _log(db, frozen, size=SIZE)
    content = '{"note":"补录"}'
    digest = tree.leaf_hash(content.encode()).hex()
    await _sql("UPDATE log_leaf SET leaf_index = -leaf_index - 1 WHERE leaf_index >= 30",
               "UPDATE log_leaf SET leaf_index = -leaf_index WHERE leaf_index < 0",
               "INSERT INTO log_leaf (leaf_index, kind, ref, agency_id, content, leaf_hash, nodes, created_at) "
               f"SELECT 30, 'evidence', 'x', NULL, '{content}', '{digest}', '', created_at FROM log_leaf "
               "WHERE leaf_index = 0")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["leaf 30: inserted: 不是日志写入的条目（没有有效的叶信封）"], _lines(result)


async def test_two_swapped_leaves_are_named(db, frozen):
    await _log(db, frozen)
    await _sql("UPDATE log_leaf SET leaf_index = -1 WHERE leaf_index = 5",
               "UPDATE log_leaf SET leaf_index = 5 WHERE leaf_index = 17",
               "UPDATE log_leaf SET leaf_index = 17 WHERE leaf_index = -1")
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == ["leaf 5: reordered: 此处的条目原本是第 17 条",
                              "leaf 17: reordered: 此处的条目原本是第 5 条"]


async def test_a_corrupted_checkpoint_signature_is_named(db, frozen):
    await _log(db, frozen)
    note = (await checkpoints.latest()).note  # type: ignore[union-attr]
    sig = note.rsplit(" ", 1)[1]
    forged = note.replace(sig, sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:])
    conn = connections.get("default")
    p = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
    await conn.execute_query(f"UPDATE log_checkpoint SET note = {p[0]} WHERE tree_size = {p[1]}", [forged, SIZE])
    result = await _verify(db)
    assert result.returncode == 3
    assert _lines(result) == [f"checkpoint #2 (size {SIZE}): bad_signature: 检查点没有本日志任何密钥的有效签名"]
    given = Path(db.data_dir) / "forged.txt"
    given.write_text(forged, encoding="utf-8")
    result = await _verify(db, "--checkpoint", str(given))
    assert result.returncode == 3
    assert _lines(result)[-1] == "checkpoint given: bad_signature: 检查点没有本日志任何密钥的有效签名"


async def test_a_checkpoint_from_a_forked_log_is_named(db, frozen):
    await _log(db, frozen)
    # The same key signed a different history of 25 leaves (a fork), or a checkpoint nobody signed.
    other = [tree.leaf_hash(f"另一份历史{i}".encode()) for i in range(25)]
    key = checkpoints.LogKeys(db.data_dir).signer(db.log_origin)
    fork, _ = checkpoints.sign_note(checkpoints.checkpoint_body(db.log_origin, 25, tree.mth(other)), key)
    path = Path(db.data_dir) / "fork.txt"
    path.write_text(fork, encoding="utf-8")
    result = await _verify(db, "--checkpoint", str(path))
    assert result.returncode == 3
    assert _lines(result) == ["checkpoint given (size 25): inconsistent: "
                              "与给定的检查点不一致：同一大小下根哈希不同（日志被分叉或改写）"]
    unsigned = fork.replace(fork.rsplit(" ", 1)[1], "AAAA" + fork.rsplit(" ", 1)[1][4:])
    path.write_text(unsigned, encoding="utf-8")
    result = await _verify(db, "--checkpoint", str(path))
    assert result.returncode == 3
    assert _lines(result) == ["checkpoint given: bad_signature: 检查点没有本日志任何密钥的有效签名"]
    # A genuine checkpoint larger than today's log: the leaves it covered were deleted.
    longer, _ = checkpoints.sign_note(checkpoints.checkpoint_body(db.log_origin, SIZE + 2, bytes(32)), key)
    path.write_text(longer, encoding="utf-8")
    result = await _verify(db, "--checkpoint", str(path))
    assert result.returncode == 3
    assert _lines(result) == [f"leaf {SIZE}: deleted: 叶 {SIZE}–{SIZE + 1} 不见了（已被签名的检查点覆盖）"]
    missing = await _verify(db, "--checkpoint", str(path) + ".nope")
    assert missing.returncode == 1 and "无法读取检查点文件" in missing.stderr and "Traceback" not in missing.stderr


async def test_leaf_sources_add_the_domains_own_checks(db, frozen):
    await _log(db, frozen, size=10)
    seen: list[int] = []

    async def evidence_rows(leaves: list[LeafRecord]) -> list[Problem]:
        seen.extend(leaf.leaf_index for leaf in leaves)
        return [Problem("source_mismatch", "证据文件的哈希与条目不符", leaf.leaf_index)
                for leaf in leaves if leaf.data["seq"] == 4]

    sources = LeafSources()
    sources.register("evidence", evidence_rows)
    with pytest.raises(ValueError):
        sources.register("evidence", evidence_rows)
    report = await audit(checkpoints.LogKeys(db.data_dir).verifiers(), sources=sources, batch=3)
    assert seen == [0, 2, 4, 6, 8]
    assert [p.line() for p in report.problems] == ["leaf 4: source_mismatch: 证据文件的哈希与条目不符"]
