"""Appending inside the caller's transaction, dense indexes, checkpoints and their keys."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import uuid

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from tortoise import connections
from tortoise.transactions import in_transaction

from backend.clock import FrozenClock
from backend.db import orm
from backend.models import LogCheckpoint, LogLeaf
from backend.models.enums import LeafKind
from backend.services.transparency import checkpoints, log
from tests.conftest import make_settings
from tests.support.rfc6962 import naive_mth, open_checkpoint


async def test_a_leaf_commits_and_rolls_back_with_the_change_it_records(db):
    async with in_transaction():
        first = await log.append("decision_event", {"event": "publish"}, agency_id=None, ref="d1")
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await log.append("decision_event", {"event": "correct"}, agency_id=None, ref="d1")
            raise RuntimeError("the change failed")
    second = await log.append("evidence", {"sha256": "ab"}, agency_id=None, ref="e1")  # its own transaction
    assert (first.leaf_index, second.leaf_index) == (0, 1)  # the rolled-back leaf left no gap
    assert await log.tree_size() == 2


async def test_the_leaf_hash_covers_the_envelope_as_canonical_json(db, clock):
    agency, at = uuid.uuid4(), log.leaf_time(clock.now())
    assert at.endswith("+08:00") and len(at) == len("2026-11-20T09:30:00.000000+08:00")
    leaf = await log.append("credential_change", {"b": 1, "a": "暂扣", "at": at}, agency_id=agency, ref="c-7",
                            clock=clock)
    row = await LogLeaf.get(leaf_index=leaf.leaf_index)
    expected = rfc8785.dumps({"agency_id": str(agency), "index": 0, "kind": "credential_change", "ref": "c-7",
                              "data": {"a": "暂扣", "b": 1, "at": at}})
    assert row.content.encode() == expected
    assert leaf.leaf_hash == row.leaf_hash == hashlib.sha256(b"\x00" + expected).hexdigest()
    entry = await log.entry(0, agency)
    assert entry.content["data"]["a"] == "暂扣" and entry.kind == "credential_change"


async def test_unknown_kinds_and_non_json_content_are_refused(db, clock):
    with pytest.raises(ValueError, match="unknown leaf kind"):
        await log.append("gossip", {}, agency_id=None, ref="x")
    with pytest.raises(ValueError, match="canonicalisable"):
        await log.append("evidence", {"at": clock.now()}, agency_id=None, ref="x")  # datetimes: leaf_time()
    with pytest.raises(ValueError, match="ref"):
        await log.append("evidence", {}, agency_id=None, ref="")
    assert await log.tree_size() == 0


async def test_entries_are_scoped_to_the_agency(db):
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    await log.append("case_record", {}, agency_id=mine, ref="1")
    await log.append("case_record", {}, agency_id=None, ref="2")
    assert (await log.entry(0, mine)).leaf_index == 0
    assert (await log.entry(0, None)).leaf_index == 0  # supervisors see everything
    assert (await log.entry(1, None)).leaf_index == 1
    for index, scope in ((0, theirs), (1, mine), (5, None)):
        with pytest.raises(Exception) as exc:
            await log.entry(index, scope)
        assert getattr(exc.value, "code", None) == "log_entry_not_found"


async def test_concurrent_transactions_get_dense_indexes_on_postgresql(pg_url, tmp_path):
    settings = make_settings(pg_url, tmp_path)
    async with orm(settings):
        async def one(i: int) -> int | None:
            try:
                async with in_transaction():
                    leaf = await log.append("evidence", {"i": i}, agency_id=None, ref=str(i))
                    await asyncio.sleep(0.001 * (i % 3))
                    if i % 5 == 0:
                        raise RuntimeError("rolled back")
                    return leaf.leaf_index
            except RuntimeError:
                return None

        got = [i for i in await asyncio.gather(*(one(i) for i in range(60))) if i is not None]
        assert sorted(got) == list(range(48))  # dense: rolled-back leaves left no holes
        rows = await LogLeaf.all().order_by("leaf_index").values_list("leaf_index", "content")
        assert [r[0] for r in rows] == list(range(48))
        assert all(f'"index":{i},' in content for i, content in rows)


async def test_a_checkpoint_is_a_signed_note_the_independent_verifier_accepts(db, clock):
    clock = FrozenClock(clock.now())
    hashes = [bytes.fromhex((await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))).leaf_hash)
              for i in range(13)]
    cp = await checkpoints.make_checkpoint(db, clock)
    keys = checkpoints.LogKeys(db.data_dir)
    origin, size, root = open_checkpoint(cp.note, keys.verifiers()[0].vkey)
    assert (origin, size, root) == ("yangguang.local/log", 13, naive_mth(hashes))
    assert cp.signer == "yangguang log signer" and cp.key_name == origin
    assert cp.timestamp == clock.now()
    assert cp.note.startswith("yangguang.local/log\n13\n") and "\n\n— yangguang.local/log " in cp.note
    # Nothing new: the same checkpoint; the periodic job signs only when leaves arrived.
    assert (await checkpoints.make_checkpoint(db, clock)).id == cp.id
    assert await checkpoints.checkpoint_if_grown(db, clock) is None
    await log.append("evidence", {"n": 13}, agency_id=None, ref="13")
    assert await checkpoints.checkpoint_if_grown(db, clock) == 14
    # The key: 0600 in a 0700 folder.
    assert stat.S_IMODE(os.stat(keys.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys.path.parent).st_mode) == 0o700


async def test_a_checkpoint_is_never_made_inside_a_transaction(db, clock):
    await log.append("evidence", {}, agency_id=None, ref="1")
    with pytest.raises(RuntimeError, match="after"):
        async with in_transaction():
            await checkpoints.make_checkpoint(db, clock)


async def test_a_log_that_lost_signed_leaves_or_rewrote_them_is_refused_a_signature(db, clock):
    for i in range(6):
        await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
    await checkpoints.make_checkpoint(db, clock)
    conn = connections.get("default")
    await conn.execute_query("DELETE FROM log_leaf WHERE leaf_index = 5")
    with pytest.raises(checkpoints.LogRolledBack):
        await checkpoints.make_checkpoint(db, clock)
    await log.append("evidence", {"n": "other"}, agency_id=None, ref="5")  # a different leaf 5
    await log.append("evidence", {"n": 6}, agency_id=None, ref="6")
    with pytest.raises(checkpoints.LogForked):
        await checkpoints.make_checkpoint(db, clock)
    assert await LogCheckpoint.all().count() == 1


async def test_rotating_the_key_keeps_old_checkpoints_verifiable(db, clock):
    await log.append("evidence", {}, agency_id=None, ref="1")
    old = await checkpoints.make_checkpoint(db, clock)
    keys = checkpoints.LogKeys(db.data_dir)
    new_key = keys.rotate(db.log_origin)
    await log.append("evidence", {}, agency_id=None, ref="2")
    new = await checkpoints.make_checkpoint(db, clock)
    assert new.key_id == new_key.key_id.hex() != old.key_id
    verifiers = keys.verifiers()
    assert len(verifiers) == 2
    assert checkpoints.open_checkpoint(old.note, verifiers).tree_size == 1
    assert checkpoints.open_checkpoint(new.note, verifiers).tree_size == 2
    assert '"private"' in keys.path.read_text() and keys.path.read_text().count('"private"') == 1
    with pytest.raises(checkpoints.NoteError):
        checkpoints.open_checkpoint(old.note, [verifiers[1]])  # the new key alone does not sign the old one


def test_the_origin_is_configurable_and_checked(tmp_path):
    from backend.settings import Settings, SettingsError

    assert Settings.from_env({"YANGGUANG_LOG_ORIGIN": "zfgs.example.gov.cn/log"}).log_origin == \
        "zfgs.example.gov.cn/log"
    assert Settings.from_env({}).log_origin == "yangguang.local/log"
    for bad in ("a b", "a+b", "x" * 201):
        with pytest.raises(SettingsError, match="LOG_ORIGIN"):
            Settings.from_env({"YANGGUANG_LOG_ORIGIN": bad})


async def test_a_rolled_back_transaction_leaves_nothing_behind_in_the_node_cache(db):
    from tests.support.rfc6962 import leaf_hash as independent_leaf_hash
    from tests.support.rfc6962 import verify_inclusion

    with pytest.raises(RuntimeError):
        async with in_transaction():
            for i in range(130):
                await log.append("evidence", {"n": i, "v": "rolled back"}, agency_id=None, ref=str(i))
            await log.root_at(130)
            await log.inclusion_proof(3, 130)
            raise RuntimeError("rolled back")
    hashes = []
    for i in range(130):
        leaf = await log.append("evidence", {"n": i}, agency_id=None, ref=str(i))
        hashes.append(bytes.fromhex(leaf.leaf_hash))
    for _ in range(2):  # the second time from the cache
        p = await log.inclusion_proof(3, 130)
        assert bytes.fromhex(p.root_hash) == naive_mth(hashes)
        verify_inclusion(hashes[3], 3, 130, [bytes.fromhex(h) for h in p.audit_path], naive_mth(hashes))
    assert independent_leaf_hash((await LogLeaf.get(leaf_index=3)).content.encode()) == hashes[3]


_json = st.recursive(st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8)
                     | st.floats(allow_nan=False, allow_infinity=False),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _json, max_size=4), st.integers(0, 2**53 - 1),
       st.sampled_from([k.value for k in LeafKind]), st.text(min_size=1, max_size=10),
       st.none() | st.uuids())
def test_the_envelope_postgresql_assembles_around_the_index_is_the_canonical_one(data, index, kind, ref, agency):
    prefix, suffix = log.envelope_around_index(kind, ref, agency, data)
    assert (prefix + str(index) + suffix).encode() == log.canonical(log.envelope(index, kind, ref, agency, data))


async def test_postgresql_and_python_appends_hash_alike(pg_url, tmp_path, clock):
    from tests.support.rfc6962 import leaf_hash as independent_leaf_hash

    async with orm(make_settings(pg_url, tmp_path)):
        for i in range(70):
            leaf = await log.append("evidence", {"名": "中文 \u2028 \"引号\"", "n": i, "f": 0.1 * i},
                                    agency_id=uuid.uuid4() if i % 2 else None, ref=f"r{i}", clock=clock)
            row = await LogLeaf.get(leaf_index=i)
            assert independent_leaf_hash(row.content.encode()) == bytes.fromhex(leaf.leaf_hash)
            assert row.content.encode() == log.canonical(log.envelope(
                i, "evidence", f"r{i}", row.agency_id, {"名": "中文 \u2028 \"引号\"", "n": i, "f": 0.1 * i}))
        hashes = [bytes.fromhex(h) for h in await LogLeaf.all().order_by("leaf_index").values_list("leaf_hash",
                                                                                                     flat=True)]
        assert await log.root_at(70, cached=False) == naive_mth(hashes)
        await log.append("evidence", {}, agency_id=None, ref="70")
        await connections.get("default").execute_query("UPDATE log_leaf SET nodes = '' WHERE leaf_index = 69")
        with pytest.raises(log.LogDamaged):
            await log.append("evidence", {}, agency_id=None, ref="71")  # 71 needs the peak stored on 69
