"""Migrations are database-neutral, idempotent, and match the models."""

from __future__ import annotations

import asyncio
import sqlite3

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from backend.db import migrate, tortoise_config
from tests.conftest import fresh_pg_database


async def test_models_and_migrations_do_not_drift():
    config = tortoise_config("sqlite://:memory:")
    ctx = await Tortoise.init(config=config)
    try:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    finally:
        await ctx.close_connections()
    pending = [op for w in writers for op in w.operations]
    assert pending == [], f"models changed without a migration: {pending[:5]} — run scripts/makemigrations"


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


def test_the_same_migration_files_serve_postgresql(pg_server):
    url = fresh_pg_database(pg_server)
    name = url.rsplit("/", 1)[1]
    pg_server.psql(f"DROP DATABASE {name}")
    pg_server.psql(f"CREATE DATABASE {name}")
    asyncio.run(migrate(url))
    first = pg_server.psql("select count(*) from tortoise_migrations", name)
    asyncio.run(migrate(url))
    assert pg_server.psql("select count(*) from tortoise_migrations", name) == first
    tables = set(pg_server.psql("select tablename from pg_tables where schemaname='public'", name).split())
    assert {"agency", "officer", "credential", "notification", "audit_event"} <= tables
