"""`yangguang backup create` / `restore` as an operator runs them, on SQLite and on PostgreSQL: a backup
taken while the data is open restores into a fresh folder and database and its log verifies; a damaged
backup, a wrong passphrase or a non-empty target is refused with a message naming what is wrong."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from backend.clock import FrozenClock
from backend.models.enums import EvidenceKind
from backend.services.records import evidence
from backend.services.transparency.checkpoints import make_checkpoint
from tests.services.test_case_records import NOW
from tests.services.test_evidence import JPEG, MP4, a_case, chunks, meta
from tests.support.processes import cli_env, run_cli

PASSPHRASE = "correct horse battery staple 阳光"


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


def _target(db_url: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> tuple[str, Path]:
    """A fresh, empty data folder and database of the same kind as ``db_url``."""
    data = tmp_path / name / "data"
    if db_url.startswith("sqlite"):
        return f"sqlite://{data}/yangguang.sqlite3", data
    pg = request.getfixturevalue("pg_server")
    dbname = f"restore_{name}_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**6}"
    pg.psql(f"CREATE DATABASE {dbname}")  # empty: no template with our schema
    return pg.url(dbname), data


async def _some_records(db, frozen) -> list[evidence.Evidence]:  # type: ignore[no-untyped-def]
    case = await a_case(frozen)
    video = await evidence.add(case, meta(), chunks(MP4 + b"\x02" * 2_500_000), "test", frozen,
                               data_dir=db.data_dir, max_bytes=10**9)
    photo = await evidence.add(case, meta(EvidenceKind.PHOTO), chunks(JPEG + b"x" * 100), "test", frozen,
                               data_dir=db.data_dir, max_bytes=10**9)
    await make_checkpoint(db, frozen)
    return [video, photo]


def _run(args: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    return run_cli(args, env, timeout=180)


async def test_a_backup_restores_into_a_fresh_folder_and_its_log_verifies(db, db_url, frozen, tmp_path, request):
    items = await _some_records(db, frozen)
    env = cli_env(db_url, db.data_dir)
    out = tmp_path / "backup"
    made = await asyncio.to_thread(_run, ["backup", "create", "--out", str(out)], env)  # the ORM is open meanwhile
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"backup.json", "checkpoint.txt", "MANIFEST.sha256", "keys/log-signer.json"} <= names
    assert {f"evidence/{e.sha256[:2]}/{e.sha256}" for e in items} <= names
    assert ("database.sqlite3" if db_url.startswith("sqlite") else "database.pgdump") in names
    manifest = (out / "MANIFEST.sha256").read_text().splitlines()
    assert len(manifest) == len(names) - 1  # every file but the manifest itself

    url, data = _target(db_url, request, tmp_path, "fresh")
    restored = await asyncio.to_thread(_run, ["backup", "restore", str(out)], cli_env(url, data))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "已恢复并核验" in restored.stdout
    for e in items:
        assert evidence.stored_path(data, e.sha256).read_bytes() == evidence.stored_path(db.data_dir, e.sha256) \
            .read_bytes()
    verify = await asyncio.to_thread(_run, ["audit", "verify"], cli_env(url, data))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    root = json.loads((out / "backup.json").read_text())["checkpoint"]["root_hash"]
    assert root in verify.stdout  # the restored log has the backup's root: nothing arrived since

    again = await asyncio.to_thread(_run, ["backup", "restore", str(out)], cli_env(url, data))
    assert again.returncode == 1 and "不是空的" in again.stderr  # never over existing data


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_damaged_backup_is_refused_naming_each_damaged_file(db, db_url, frozen, tmp_path, request):
    items = await _some_records(db, frozen)
    out = tmp_path / "backup"
    made = await asyncio.to_thread(_run, ["backup", "create", "--out", str(out)], cli_env(db_url, db.data_dir))
    assert made.returncode == 0, made.stderr
    changed = f"evidence/{items[0].sha256[:2]}/{items[0].sha256}"
    with (out / changed).open("r+b") as fh:  # one byte of one evidence file
        fh.seek(1000)
        fh.write(b"\xff")
    dropped = f"evidence/{items[1].sha256[:2]}/{items[1].sha256}"
    manifest = out / "MANIFEST.sha256"
    manifest.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()
                                if not line.endswith(dropped)))

    url, data = _target(db_url, request, tmp_path, "fresh")
    refused = await asyncio.to_thread(_run, ["backup", "restore", str(out)], cli_env(url, data))
    assert refused.returncode == 1
    assert f"{changed}：SHA-256 与清单不符" in refused.stderr
    assert f"{dropped}：不在清单中" in refused.stderr
    assert "备份校验失败" in refused.stderr
    assert not data.exists()  # nothing was written


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_encrypted_backup_needs_its_passphrase_and_still_verifies(db, db_url, frozen, tmp_path, request):
    items = await _some_records(db, frozen)
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    out = tmp_path / "backup"
    made = await asyncio.to_thread(_run, ["backup", "create", "--out", str(out), "--passphrase-file", str(secret)],
                                   cli_env(db_url, db.data_dir))
    assert made.returncode == 0, made.stderr
    stored = (out / f"evidence/{items[1].sha256[:2]}/{items[1].sha256}").read_bytes()
    assert JPEG not in stored and b"x" * 50 not in stored  # the content is not readable without the key
    assert b"SQLite format" not in (out / "database.sqlite3").read_bytes()[:100]

    url, data = _target(db_url, request, tmp_path, "nokey")
    refused = await asyncio.to_thread(_run, ["backup", "restore", str(out)], cli_env(url, data))
    assert refused.returncode == 1 and "已加密" in refused.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all")
    refused = await asyncio.to_thread(_run, ["backup", "restore", str(out), "--passphrase-file", str(wrong)],
                                      cli_env(url, data))
    assert refused.returncode == 1 and "口令不正确" in refused.stderr
    restored = await asyncio.to_thread(_run, ["backup", "restore", str(out), "--passphrase-file", str(secret)],
                                       cli_env(url, data))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert evidence.stored_path(data, items[0].sha256).read_bytes()[:len(MP4)] == MP4


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_restore_whose_log_does_not_match_the_checkpoint_does_not_report_success(db, db_url, frozen,
                                                                                        tmp_path, request):
    """The backup's own files are consistent (manifest recomputed), but a leaf was edited in the snapshot."""
    import hashlib
    import sqlite3

    await _some_records(db, frozen)
    out = tmp_path / "backup"
    made = await asyncio.to_thread(_run, ["backup", "create", "--out", str(out)], cli_env(db_url, db.data_dir))
    assert made.returncode == 0, made.stderr
    conn = sqlite3.connect(out / "database.sqlite3")
    with conn:
        conn.execute("UPDATE log_leaf SET content = replace(content, '无照经营', '有照经营') WHERE leaf_index = 0")
    conn.close()
    lines = []
    for line in (out / "MANIFEST.sha256").read_text().splitlines():
        digest, name = line.split("  ", 1)
        if name == "database.sqlite3":
            digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    (out / "MANIFEST.sha256").write_text("".join(lines))

    url, data = _target(db_url, request, tmp_path, "fresh")
    restored = await asyncio.to_thread(_run, ["backup", "restore", str(out)], cli_env(url, data))
    assert restored.returncode == 3, restored.stdout + restored.stderr
    assert "leaf 0: edited" in restored.stdout
    assert "未通过日志核验" in restored.stderr
