"""Migrations are database-neutral, idempotent, and match the models."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import pkgutil
import sqlite3
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations import operations as ops
from tortoise.migrations.autodetector import MigrationAutodetector

import migrations as migrations_pkg
from backend import db_baseline, migration_state
from backend.db import migrate, pending_migrations, tortoise_config
from tests.conftest import fresh_pg_database
from tests.support.leaves import LEAF_COLUMNS

_names = itertools.count()


async def test_models_and_migrations_do_not_drift():
    migration_state.install()  # the migrations' state projected as migrate projects it (and 2.5x faster)
    config = tortoise_config("sqlite://:memory:")
    ctx = await Tortoise.init(config=config)
    try:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    finally:
        await ctx.close_connections()
    pending = [op for w in writers for op in w.operations]
    assert pending == [], f"models changed without a migration: {pending[:5]} — run scripts/makemigrations"


def test_the_runners_snapshot_of_a_state_is_the_state_as_it_was_when_taken():
    """backend/migration_state.py renders a snapshot's model classes when first read, after the live
    state has moved on: they must still be the models as they were (the old side of AlterField,
    RemoveField, DeleteModel), each class wired to the snapshot's own related classes."""
    from tortoise import fields
    from tortoise.migrations.schema_generator.state import State
    from tortoise.migrations.schema_generator.state_apps import StateApps

    migration_state.install()
    state = State(models={}, apps=StateApps())
    ops.CreateModel("Owner", [("id", fields.IntField(primary_key=True)), ("name", fields.CharField(max_length=9))],
                    options={"table": "owner"}).state_forward("models", state)
    ops.CreateModel("Pet", [("id", fields.IntField(primary_key=True)),
                            ("owner", fields.ForeignKeyField("models.Owner", related_name="pets"))],
                    options={"table": "pet"}).state_forward("models", state)
    before = state.clone()
    # Not vacuous: the snapshot is the lazy one (on another tortoise-orm install() changes nothing).
    assert type(before).__name__ == "_Snapshot", "backend/migration_state.py not installed"
    ops.AddField("Owner", "phone", fields.CharField(max_length=20, default="")).state_forward("models", state)
    ops.RemoveField("Owner", "name").state_forward("models", state)
    old_owner = before.apps.get_model("models.Owner")
    assert {"name", "pets"} <= set(old_owner._meta.fields_map) and "phone" not in old_owner._meta.fields_map
    assert before.apps.get_model("models.Pet")._meta.fields_map["owner"].related_model is old_owner
    live_owner = state.apps.get_model("models.Owner")
    assert "phone" in live_owner._meta.fields_map and "name" not in live_owner._meta.fields_map
    assert live_owner is not old_owner and state.apps.get_model("models.Pet")._meta.fields_map[
        "owner"].related_model is live_owner


def test_migrate_brings_an_empty_sqlite_database_up_and_a_second_run_changes_nothing(tmp_path):
    url = f"sqlite://{tmp_path}/fresh.sqlite3"
    asyncio.run(migrate(url))
    conn = sqlite3.connect(tmp_path / "fresh.sqlite3")
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    applied = conn.execute("select count(*) from tortoise_migrations").fetchone()[0]
    conn.close()
    assert {"agency", "officer", "credential", "case", "case_record", "decision", "notification",
            "complaint", "audit_event", "legal_review"} <= tables
    asyncio.run(migrate(url))
    conn = sqlite3.connect(tmp_path / "fresh.sqlite3")
    assert conn.execute("select count(*) from tortoise_migrations").fetchone()[0] == applied
    conn.close()


def test_the_sqlite_baseline_is_what_the_migrations_leave(tmp_path, old_schemas):
    """An empty SQLite file is built from migrations/sqlite_baseline.json, not by replaying the
    migrations (seconds of CPU): it must be the same database, object by object and row by row. The
    replay here is every migration from an empty file, run in the stages the upgrade tests below
    start from (the session's 0005 and 0018 schemas: upgrades, as the baseline's users will run them)."""
    replayed = old_schemas.sqlite(BEFORE_REGISTER_LEAVES, tmp_path).removeprefix("sqlite://")
    asyncio.run(migrate(f"sqlite://{replayed}", use_baseline=False))
    fresh = tmp_path / "fresh.sqlite3"
    asyncio.run(migrate(f"sqlite://{fresh}"))
    assert db_baseline.fingerprint(fresh) == db_baseline.fingerprint(replayed), \
        "the baseline is stale: run bash scripts/makemigrations"
    assert asyncio.run(pending_migrations(f"sqlite://{fresh}")) == []
    # A file that already holds a database is never overwritten by the baseline.
    assert not db_baseline.load_into_empty(str(fresh), db_baseline.now_for_recorder())


def test_the_same_migration_files_serve_postgresql(pg_server):
    """The session's template (tests/conftest.py: pg_server) was an empty PostgreSQL database brought up
    by ``migrate`` replaying every migration file; replaying them again here would cost half a minute
    and prove nothing more. A second run on a copy of it changes nothing."""
    url = fresh_pg_database(pg_server)
    name = url.rsplit("/", 1)[1]
    first = pg_server.psql("select count(*) from tortoise_migrations", name)
    assert int(first) == len([m for m in pkgutil.iter_modules(migrations_pkg.__path__)])
    asyncio.run(migrate(url))
    assert pg_server.psql("select count(*) from tortoise_migrations", name) == first
    assert asyncio.run(pending_migrations(url)) == []
    tables = set(pg_server.psql("select tablename from pg_tables where schemaname='public'", name).split())
    assert {"agency", "officer", "credential", "notification", "audit_event"} <= tables


# --- upgrades of databases that have rows (bench/upgrade_bench.py does it with 100,000 cases) ---------

OLDEST_WITH_LEAVES = "0005_transparency_log"
A, C, P, D, V, R, K = ("00000000-0000-4000-8000-00000000000" + str(i) for i in range(1, 8))
T = "'2025-03-01 09:00:00+08:00'"
# One row in every table a later migration adds a NOT NULL column to, in the 0005 schema (raw SQL: the
# models are at the head), and three leaves.
SEED_AT_0005 = [
    f"INSERT INTO agency (id, name, credit_code, kind, region, legal_basis, funding_source, staffing, duties, "
    f"legal_representative, address, complaint_phone, entrustment_agreement, publish_state, created_at, updated_at) "
    f"VALUES ('{A}', '某市场监督管理局', '11330100MB0000009', 'agency', '杭州市', '', '', 1, '', '', '', '', '', "
    f"'published', {T}, {T})",
    f"INSERT INTO \"case\" (id, number, title, type, status, handling_unit, is_major, major_reasons, hearing_held, "
    f"created_at, updated_at, agency_id) VALUES ('{C}', '案1', '案', 'penalty', 'decided', '', false, '[]', false, "
    f"{T}, {T}, '{A}')",
    f"INSERT INTO party (id, kind, name, wechat_openid, channel_preference, is_minor, created_at) "
    f"VALUES ('{P}', 'person', '张三', 'o-openid-1', 'both', false, {T})",
    f"INSERT INTO case_party (case_id, party_id) VALUES ('{C}', '{P}')",
    f"INSERT INTO decision (id, type, document_no, summary, decided_at, status, public_party_name, current_version, "
    f"created_at, updated_at, agency_id, case_id) VALUES ('{D}', 'penalty', '处1号', '', '2025-03-01', 'published', "
    f"'张*', 1, {T}, {T}, '{A}', '{C}')",
    f"INSERT INTO decision_version (id, version, kind, public_text, reason, actor, created_at, decision_id, "
    f"actor_name, actor_role, leaf_index) VALUES ('{V}', 1, 'publish', '文', '', 'k', {T}, '{D}', '', '', 2)",
    f"INSERT INTO legal_review (id, round, status, submitted_by, submitted_at, due_on, opinion, reasons, "
    f"handling_unit_objection, head_decision, updated_at, case_id) VALUES ('{R}', 1, 'submitted', 'k', {T}, "
    f"'2025-03-08', '{{}}', '', '', '', {T}, '{C}')",
    f"INSERT INTO complaint (id, tracking_no, kind, text, photos, anonymous, status, answer, created_at, updated_at, "
    f"agency_id) VALUES ('{K}', 'T1', 'complaint', '文', '[]', true, 'submitted', '', {T}, {T}, '{A}')",
    f"INSERT INTO complaint_event (status, note, actor, created_at, complaint_id) VALUES ('submitted', '', '', {T}, "
    f"'{K}')",
    *(f"INSERT INTO log_leaf (leaf_index, kind, ref, agency_id, content, leaf_hash, nodes, created_at) VALUES "
      f"({i}, 'case_record', '{C}:{i}', '{A}', '{{\"index\":{i}}}', '{i:064x}', '', {T})" for i in range(3)),
]


def _sql(url: str, pg_server, statements: list[str]) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            rows = [row for s in statements for row in conn.execute(s).fetchall()]
            conn.commit()
        finally:
            conn.close()
        return rows
    db = url.rsplit("/", 1)[1]
    return [tuple(line.split("|")) for s in statements for line in pg_server.psql(s, db).splitlines()]


class OldSchemas:
    """Each older schema an upgrade test starts from, built once per session and dialect by ``migrate``
    with a ``target`` (0018 from a copy of 0005): every test gets a copy of it and upgrades that copy
    for real. Replaying 0001-0018 for each test was most of these tests' time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pg_built: set[str] = set()

    def sqlite(self, target: str, into: Path) -> str:
        copy = into / "old.sqlite3"
        _sqlite_copy(self._sqlite_built(target), copy)
        return f"sqlite://{copy}"

    def postgres(self, target: str, pg_server) -> str:  # type: ignore[no-untyped-def]
        name = f"upgrade{next(_names)}"
        pg_server.psql(f"CREATE DATABASE {name} TEMPLATE {self._pg_built(target, pg_server)}")
        return pg_server.url(name)

    def _sqlite_built(self, target: str) -> Path:
        built = self.folder / f"{target}.sqlite3"
        if not built.exists():
            base = _older_schema(target)
            if base is not None:
                _sqlite_copy(self._sqlite_built(base), built)
            asyncio.run(migrate(f"sqlite://{built}", target=target))
        return built

    def _pg_built(self, target: str, pg_server) -> str:  # type: ignore[no-untyped-def]
        template = f"at_{target[:4]}"
        if template not in self.pg_built:
            base = _older_schema(target)
            source = "" if base is None else f" TEMPLATE {self._pg_built(base, pg_server)}"
            pg_server.psql(f"CREATE DATABASE {template}{source}")
            asyncio.run(migrate(pg_server.url(template), target=target))
            self.pg_built.add(template)
        return template


def _older_schema(target: str) -> str | None:
    older = [t for t in (OLDEST_WITH_LEAVES, BEFORE_REGISTER_LEAVES) if t < target]
    return older[-1] if older else None


def _sqlite_copy(source: Path, target: Path) -> None:
    # SQLite's backup API: a consistent copy whatever the journal mode left beside the file.
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def old_schemas(tmp_path_factory: pytest.TempPathFactory) -> OldSchemas:
    return OldSchemas(tmp_path_factory.mktemp("old-schemas"))


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, tmp_path, old_schemas):  # type: ignore[no-untyped-def]
    """``old_url(target)``: a database of this dialect at migration ``target``, the test's own copy."""
    if request.param == "sqlite":
        return lambda target: old_schemas.sqlite(target, tmp_path)
    pg_server = request.getfixturevalue("pg_server")
    return lambda target: old_schemas.postgres(target, pg_server)


def test_a_database_with_rows_upgrades_from_0005_and_no_leaf_is_rewritten(old_url, request):
    url = old_url(OLDEST_WITH_LEAVES)
    pg_server = request.getfixturevalue("pg_server") if url.startswith("postgres") else None
    _sql(url, pg_server, SEED_AT_0005)
    read_leaves = [f"SELECT {', '.join(LEAF_COLUMNS)} FROM log_leaf ORDER BY leaf_index"]
    before = _sql(url, pg_server, read_leaves)
    asyncio.run(migrate(url))
    assert asyncio.run(pending_migrations(url)) == []
    assert _sql(url, pg_server, read_leaves) == before and len(before) == 3
    # The rows already there got the new columns' defaults, or their fill (a review's agency: its case's).
    assert _sql(url, pg_server, ["SELECT agency_id FROM legal_review"]) == [(A,)]
    assert [str(v).lower() for v in _sql(url, pg_server, ["SELECT wechat_consent FROM party"])[0]] \
        in (["1"], ["t"], ["true"])
    assert _sql(url, pg_server, ["SELECT count(*) FROM party_binding"]) in ([(1,)], [("1",)])


def test_decisions_public_before_the_search_get_their_search_and_gram_rows(old_url, request):
    # 0013 backfills the search row of a decision already published, 0020 its gram rows (one per
    # distinct bigram of the organisation's name, with the decision's date): a two-character search
    # finds it from the first request after the upgrade.
    from backend.services.search import grams, normalize

    url = old_url(OLDEST_WITH_LEAVES)
    pg_server = request.getfixturevalue("pg_server") if url.startswith("postgres") else None
    org = "00000000-0000-4000-8000-000000000009"
    _sql(url, pg_server, [*SEED_AT_0005,
                                f"INSERT INTO party (id, kind, name, channel_preference, is_minor, created_at) "
                                f"VALUES ('{org}', 'organization', '杭州星辰ＡＢ科技有限公司', 'none', false, {T})",
                                f"INSERT INTO case_party (case_id, party_id) VALUES ('{C}', '{org}')"])
    asyncio.run(migrate(url))
    rows = _sql(url, pg_server, ["SELECT gram, decided_at, decision_id FROM decision_search_gram"])
    assert sorted((g, str(day)[:10], str(d)) for g, day, d in rows) == sorted(
        (g, "2025-03-01", D) for g in set(grams(normalize("杭州星辰ＡＢ科技有限公司"))))


def test_every_not_null_column_added_to_a_table_fills_the_rows_already_there():
    offenders = []
    for module in sorted(pkgutil.iter_modules(migrations_pkg.__path__), key=lambda m: m.name):
        for op in importlib.import_module(f"migrations.{module.name}").Migration.operations:
            if type(op) is ops.AddField and not op.field.null and not op.field.has_db_default():
                offenders.append(f"{module.name}: {op.model_name}.{op.name}")
    assert offenders == [], ("use backend.migration_ops.AddField (tortoise's fails on a table with rows): "
                             f"{offenders}")


# --- register versions made before their steps were logged (0019) ------------------------------------

BEFORE_REGISTER_LEAVES = "0018_search_gin_without_pending_list"
ITEM, V1, V2, RV = ("00000000-0000-4000-8000-0000000001" + str(i) for i in range(10, 14))
REGISTER_AT_0018 = [
    f"INSERT INTO agency (id, name, credit_code, kind, region, created_at, updated_at) VALUES ('{A}', "
    f"'某市场监督管理局', '11330100MB0000009', 'agency', '杭州市', {T}, {T})",
    f"INSERT INTO register_item (id, kind, code, created_at, agency_id) VALUES ('{ITEM}', 'power_list', 'XK-1', {T}, "
    f"'{A}')",
    *(f"INSERT INTO register_version (id, kind, version, title, content, effective_from, state, changed_on, "
      f"publish_due_on, publish_due_on_provisional, author, author_name, created_at, submitted_by_name, "
      f"published_by_name, agency_id, item_id) VALUES ('{v}', 'power_list', {n}, '食品经营许可', '{{\"name\": "
      f"\"食品经营许可\"}}', '2025-03-01', '{state}', '2025-03-01', '2025-03-28', false, 'key:a', '钱管理', {T}, '', "
      f"'', '{A}', '{ITEM}')" for v, n, state in ((V1, 1, "published"), (V2, 2, "draft"))),
    f"INSERT INTO register_review (id, outcome, opinion, reviewer, reviewer_name, reviewer_role, reviewed_at, "
    f"version_id) VALUES ('{RV}', 'approved', '同意', 'key:b', '王法制', 'legal', {T}, '{V1}')",
]


def test_register_versions_from_before_0019_verify_and_an_edit_of_one_is_still_named(old_url, request, tmp_path):
    # Versions and reviews made before register steps were logged have no leaves: the upgrade carries
    # them over (the reviews as steps, each version's state as a last carry_over step), audit verify
    # passes on the upgraded database, and a state edited behind the service's back after it is named.
    from tests.support.processes import cli_env, run_cli

    url = old_url(BEFORE_REGISTER_LEAVES)
    pg_server = request.getfixturevalue("pg_server") if url.startswith("postgres") else None
    _sql(url, pg_server, REGISTER_AT_0018)
    asyncio.run(migrate(url))
    steps = _sql(url, pg_server, ["SELECT version_id, action, state, actor_name FROM register_event "
                                        "ORDER BY id"])
    assert [tuple(s) for s in steps] == [(V1, "approve", "approved", "王法制"), (V1, "carry_over", "published", ""),
                                         (V2, "carry_over", "draft", "")]
    env = cli_env(url, tmp_path / "data")
    verified = run_cli(["audit", "verify"], env, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    _sql(url, pg_server, [f"UPDATE register_version SET state = 'draft' WHERE id = '{V1}'"])
    edited = run_cli(["audit", "verify"], env, timeout=120)
    assert edited.returncode == 3
    assert edited.stdout.strip().splitlines() == [
        f"row: edited: 公开事项版本 {V1} 的状态（draft）与升级时记录的状态（published）不符"]
