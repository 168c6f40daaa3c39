"""A transaction written as a program of statements, run back to back.

A *program* is a generator: it yields each statement ``(sql, values)`` and is sent that statement's
rows; what it returns is the result. ``run`` opens the transaction, drives the program, commits when
it returns and rolls back when it raises (a ``DomainError`` of its own or the database's error), so
everything the program wrote commits together or not at all, and ``run`` returns only after COMMIT.

Why: tortoise gives SQLite one connection (one lock) and runs each statement in aiosqlite's thread,
so an ordinary ``async with in_transaction()`` holds that lock across one event-loop round trip per
statement, each resumption queued behind every other request's parsing. On SQLite ``run`` hands the
whole program to the connection's thread in one call (BEGIN IMMEDIATE … COMMIT without returning to
the loop), so the lock is held for the statements' own time. On PostgreSQL (a pool, no shared
lock), or inside a transaction already open, it awaits the statements one by one in a transaction,
as before. The program is the same on both; it asks ``dialect`` where the SQL differs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model
from tortoise.transactions import in_transaction

T = TypeVar("T")
Statement = tuple[str, list[Any]]
Rows = Sequence[Any]  # sqlite3.Row or asyncpg.Record: indexable by position
Program = Generator[Statement, Rows, T]


@dataclass(frozen=True)
class Db:
    """What a program may ask of the database it runs on (resolved before it runs: on SQLite its body
    runs in aiosqlite's thread, where tortoise's context variables are not set)."""

    client: BaseDBAsyncClient

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgres``."""
        return str(self.client.capabilities.dialect)

    def insert(self, row: Model) -> Program[None]:
        """Write a new row as a step: ``yield from db.insert(row)`` (``insert_of``)."""
        yield insert_of(row, self.client)
        row._saved_in_db = True  # as save() leaves it: a later save() updates the row


def insert_of(row: Model, client: BaseDBAsyncClient) -> Statement:
    """The INSERT tortoise's ``row.save()`` would run for a new row: its executor's statement and its
    fields' database values (``auto_now`` stamps included). Rows with database-side defaults are
    refused (tortoise would write them differently); a test compares with ``save()`` on both
    databases, so a tortoise upgrade changing this is caught. The row's generated key (an
    autoincrement id) is not read back."""
    executor = client.executor_class(model=type(row), db=client)
    custom_pk = row._custom_generated_pk
    columns = executor.regular_columns_all if custom_pk else executor.regular_columns
    if executor._has_db_default_values(row, columns):
        raise TypeError(f"{type(row).__name__} has database defaults; save() it instead")
    sql = executor.insert_query_all if custom_pk else executor.insert_query
    fields = row._meta.fields_map
    return sql, [fields[name].to_db_value(getattr(row, name), row) for name in columns]


async def run(program: Callable[[Db], Program[T]]) -> T:
    """Run ``program(db)`` as one transaction; its result once committed."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite" and not isinstance(conn, TransactionalDBClient):
        steps = program(Db(conn))
        async with conn.acquire_connection() as aio:  # tortoise's lock: no other statement interleaves
            return await aio._execute(_run_in_thread, aio._conn, steps)
    async with in_transaction() as tx:
        return await drive(tx, program(Db(tx)))


async def drive(conn: BaseDBAsyncClient, steps: Program[T]) -> T:
    """Await each statement of ``steps`` on ``conn`` (inside the caller's transaction). A failing
    statement's error is thrown into the program, which may translate it."""
    try:
        statement = next(steps)
        while True:
            try:
                _, rows = await conn.execute_query(*statement)
            except Exception as exc:
                statement = steps.throw(exc)
            else:
                statement = steps.send(rows)
    except StopIteration as done:
        return done.value


def _translated(exc: sqlite3.Error) -> Exception:
    # As tortoise's SQLite client translates them, so a program sees the same errors on both paths.
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(exc)
    return OperationalError(exc)


def _run_in_thread(db: sqlite3.Connection, steps: Program[T]) -> T:
    """In aiosqlite's thread, with tortoise's lock held: the whole transaction, no await in it."""
    if db.in_transaction:  # tortoise ends its transactions before releasing the lock
        raise OperationalError("atomic.run: the SQLite connection is already in a transaction")
    try:
        # IMMEDIATE: the write lock at BEGIN (busy_timeout waits for another process's writer), never
        # a read lock that fails to upgrade halfway through.
        db.execute("BEGIN IMMEDIATE")
        try:
            statement = next(steps)
            while True:
                try:
                    rows = db.execute(*statement).fetchall()
                except sqlite3.Error as exc:
                    statement = steps.throw(_translated(exc))
                else:
                    statement = steps.send(rows)
        except StopIteration as done:
            result: T = done.value
        db.execute("COMMIT")
        return result
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):  # BEGIN or COMMIT themselves
            raise _translated(exc) from exc
        raise
