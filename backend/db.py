"""The TORTOISE_ORM config shared by the app, the worker, the CLI and the migration tool."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.exceptions import DBConnectionError

from backend.files import private_sqlite, sqlite_file
from backend.settings import Settings

MODELS_MODULE = "backend.models"
MIGRATIONS_MODULE = "migrations"
TIMEZONE = "Asia/Shanghai"
_DB_VAR = "YANGGUANG_DATABASE_URL"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": TIMEZONE,
    }


async def migrate(database_url: str, *, target: str | None = None,
                  progress: Callable[[str, str, str], object] | None = None, use_baseline: bool = True) -> None:
    """Bring the database to the current schema; running it again changes nothing. ``target`` (a
    migration's name, say ``0005_transparency_log``) stops there instead: the upgrade bench and
    tests build an older schema with it. ``progress(event, app, name)`` hears each step
    (``apply_start``, ``apply_done``). An empty SQLite file starts from the baseline
    (``backend.db_baseline``) unless ``use_baseline`` is off or a ``target`` is given."""
    from tortoise.migrations.api import migrate as run_migrations

    from backend import db_baseline, migration_state

    migration_state.install()  # the runner's model state rendered only when read (half its CPU)

    private_sqlite(database_url)  # the file 0600 before SQLite creates it (and its -wal/-shm) by the umask
    sqlite = database_url.startswith("sqlite")
    path = sqlite_file(database_url)
    if path is not None and use_baseline and target is None:
        try:
            db_baseline.load_into_empty(path, db_baseline.now_for_recorder())
        except sqlite3.Error as exc:
            raise DatabaseNotReady(f"无法创建数据库文件 {path}（{exc}）") from exc
    url = database_url
    if sqlite:
        # SQLite alters a column by copying its table and dropping the old one, which the rows of other
        # tables pointing at it forbid while foreign keys are enforced: off while migrating, then
        # checked (SQLite's own procedure for table changes, https://sqlite.org/lang_altertable.html).
        url += ("&" if "?" in url else "?") + "foreign_keys=OFF"
    try:
        await run_migrations(config=tortoise_config(url), target=f"models.{target}" if target else None,
                             progress=progress)
        if sqlite:
            from tortoise.connection import get_connection

            _, broken = await get_connection("default").execute_query("PRAGMA foreign_key_check")
            if broken:
                raise DatabaseNotReady(f"迁移后外键检查失败（{len(broken)} 行），请从备份恢复后联系维护人员")
    except (OSError, DBConnectionError) as exc:
        raise DatabaseNotReady(f"无法连接数据库，请检查 {_DB_VAR} 和数据库服务是否可用") from exc
    finally:
        await Tortoise.close_connections()


class DatabaseNotReady(Exception):
    """The database cannot be used as it is; the message (Chinese, one line) says what to do."""


async def pending_migrations(database_url: str) -> list[str]:
    """Names of the migrations not yet applied to this database (all of them on an empty one)."""
    from tortoise.connection import get_connection
    from tortoise.migrations.executor import MigrationExecutor

    config = tortoise_config(database_url)
    try:
        await Tortoise.init(config=config, init_connections=False)
        connection = get_connection("default")
        await connection.execute_query("SELECT 1")  # the recorder reads "unreachable" as "empty"
        executor = MigrationExecutor(connection, config["apps"])
        steps = await executor.plan(None)
    except (OSError, DBConnectionError) as exc:
        raise DatabaseNotReady(f"无法连接数据库，请检查 {_DB_VAR} 和数据库服务是否可用") from exc
    finally:
        await Tortoise.close_connections()
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]


async def prepare_database(settings: Settings) -> None:
    """Before a command touches the database: the embedded default (SQLite) brings itself up to
    date; a shared database (PostgreSQL) is migrated only on purpose, by ``yangguang migrate``."""
    if settings.database_is_sqlite:
        await migrate(settings.database_url)
        return
    pending = await pending_migrations(settings.database_url)
    if pending:
        raise DatabaseNotReady(f"数据库结构不是最新（{len(pending)} 个迁移未执行），请先运行 yangguang migrate")


async def init_orm(settings: Settings, *, global_fallback: bool = True) -> TortoiseContext:
    private_sqlite(settings.database_url)
    # Tortoise caches insert SQL per connection *name*, not per dialect; a process that opens
    # SQLite and then PostgreSQL (the test suite) would reuse SQLite's placeholders.
    EXECUTOR_CACHE.clear()
    ctx = await Tortoise.init(
        config=tortoise_config(settings.database_url), _enable_global_fallback=global_fallback
    )
    if settings.database_is_sqlite:
        # WAL lets the in-process worker read while a request writes; busy_timeout waits for locks.
        conn = ctx.connections.get("default")
        await conn.execute_script("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;")
    return ctx


@asynccontextmanager
async def orm(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Open the ORM for a command or a worker and close it via the context object (not the contextvar)."""
    ctx = await init_orm(settings)
    try:
        yield ctx
    finally:
        await ctx.close_connections()


# For the `tortoise` migration CLI only (makemigrations needs no real database).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
