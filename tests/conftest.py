"""Fixtures on real parts: PostgreSQL and Redis from Debian's binaries on free loopback ports.

Every test that takes ``db_url`` (directly or through ``settings``/``client``) runs twice: on
SQLite and on PostgreSQL. Each test gets a fresh database copied from a migrated template.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from backend.app import create_app
from backend.clock import Clock
from backend.db import migrate, orm
from backend.settings import Settings
from tests.support.servers import PostgresServer, RedisServer, start_postgres, start_redis

PUBLIC_BASE = "https://zfgs.example.gov.cn"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    # Every migration file replayed on an empty database, once per session (about 30 s of tortoise's
    # CPU): tests/backend/test_migrations.py checks this replay instead of doing its own.
    server.psql("CREATE DATABASE yg_template")
    asyncio.run(migrate(server.url("yg_template")))
    yield server
    server.stop("immediate")
    # By now the data folder holds a database per PostgreSQL test (about 400 of 10 MB, 300 files each):
    # deleting it took 26-42 s of the suite's last teardown. Nobody waits for it: rm runs detached.
    subprocess.Popen(["rm", "-rf", "--", str(server.datadir.parent)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    asyncio.run(migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


def fresh_pg_database(pg_server: PostgresServer) -> str:
    name = f"t{next(_counter)}"
    pg_server.psql(f"CREATE DATABASE {name} TEMPLATE yg_template")
    return pg_server.url(name)


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh PostgreSQL database, for tests about locking, concurrency or processes."""
    return fresh_pg_database(pg_server)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "yangguang.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite://{path}"
    return fresh_pg_database(request.getfixturevalue("pg_server"))


def make_settings(db_url: str, data_dir: Path, **overrides: object) -> Settings:
    base = Settings.from_env({"YANGGUANG_DATA_DIR": str(data_dir), "YANGGUANG_DATABASE_URL": db_url,
                              "YANGGUANG_PUBLIC_BASE_URL": PUBLIC_BASE})
    return Settings(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path / "data")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(aiohttp_client, settings: Settings, clock: Clock) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings, clock=clock)
    yield await aiohttp_client(app)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    """The ORM open on a fresh database and no HTTP server: for the domain rules in services/."""
    async with orm(settings):
        yield settings
