"""A transaction written as a program of statements, run back to back; on SQLite, committed in groups.

A *program* is a generator: it yields each statement ``(sql, values)`` and is sent that statement's
rows; what it returns is the result. ``run`` drives it inside a transaction: everything the program
wrote commits together or not at all (it raises: a ``DomainError`` of its own or the database's
error, thrown into it first so it may translate it), and ``run`` returns only after COMMIT.

Why: tortoise gives SQLite one connection (one lock) and runs each statement in aiosqlite's thread,
so an ordinary ``async with in_transaction()`` holds that lock across one event-loop round trip per
statement, each resumption queued behind every other request's parsing; and each COMMIT is an fsync
of the WAL (``synchronous=FULL``). On SQLite ``run`` therefore queues the program, and one writer
runs every program queued meanwhile (up to ``GROUP_MAX``) in one call to the connection's thread:
BEGIN IMMEDIATE, then for each program a SAVEPOINT, its statements, RELEASE (or ROLLBACK TO when it
raised: its writes go, the others' stay), then one COMMIT; only then is each caller given its own
result or error. A program must not depend on being alone in its transaction (it sees the writes of
those before it in its group, as it would once they committed). On PostgreSQL (a pool, no shared
lock), or inside a transaction already open, ``run`` awaits the statements one by one in a
transaction of their own. The program is the same on both; it asks ``db.dialect`` where SQL differs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
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


GROUP_MAX = 64  # programs per SQLite transaction: bounds how long one group holds the connection


async def run(program: Callable[[Db], Program[T]]) -> T:
    """Run ``program(db)`` as one transaction (on SQLite: a savepoint of a group's); its result once
    committed."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite" and not isinstance(conn, TransactionalDBClient):
        return await _writer(conn).submit(program(Db(conn)))
    async with in_transaction() as tx:
        return await drive(tx, program(Db(tx)))


class _GroupWriter:
    """The queue of one SQLite client's programs and the task committing them in groups."""

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.queue: list[tuple[Program[Any], asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, steps: Program[T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.queue.append((steps, future))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._flush())
        # A caller cancelled meanwhile (its client went away) does not stop its program: it may still
        # commit, unanswered, like a receipt lost on the way back. What was answered was committed.
        return await future

    async def _flush(self) -> None:
        try:
            while self.queue:
                group, self.queue = self.queue[:GROUP_MAX], self.queue[GROUP_MAX:]
                try:
                    async with self.client.acquire_connection() as aio:  # tortoise's lock
                        outcomes = await aio._execute(_run_group, aio._conn, [steps for steps, _ in group])
                except Exception as exc:  # the connection itself failed: nobody's program ran
                    outcomes = [(False, exc)] * len(group)
                except BaseException:  # this task cancelled (shutdown): nobody waits for ever
                    for _, future in group + self.queue:
                        future.cancel()
                    self.queue = []
                    raise
                for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.task = None


_writers: weakref.WeakKeyDictionary[BaseDBAsyncClient, _GroupWriter] = weakref.WeakKeyDictionary()


def _writer(client: BaseDBAsyncClient) -> _GroupWriter:
    writer = _writers.get(client)
    if writer is None:
        writer = _writers[client] = _GroupWriter(client)
    return writer


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


def _drive_here(db: sqlite3.Connection, steps: Program[T]) -> T:
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
        return done.value


Outcome = tuple[bool, Any]  # (True, result) or (False, the exception to raise in the caller)


def _run_group(db: sqlite3.Connection, group: list[Program[Any]]) -> list[Outcome]:
    """In aiosqlite's thread, with tortoise's lock held: one transaction, a savepoint per program, no
    await in it. Every outcome is decided only once COMMIT has returned."""
    if db.in_transaction:  # tortoise ends its transactions before releasing the lock
        return [(False, OperationalError("atomic: the SQLite connection is already in a transaction"))] * len(group)
    outcomes: list[Outcome] = []
    try:
        # IMMEDIATE: the write lock at BEGIN (busy_timeout waits for another process's writer), never
        # a read lock that fails to upgrade halfway through.
        db.execute("BEGIN IMMEDIATE")
        for steps in group:
            db.execute("SAVEPOINT program")
            try:
                outcomes.append((True, _drive_here(db, steps)))
            except Exception as exc:
                if not db.in_transaction:  # SQLite ended the whole transaction (disk full, I/O error)
                    raise
                db.execute("ROLLBACK TO program")  # this program's writes only
                outcomes.append((False, exc))
            db.execute("RELEASE program")
        db.execute("COMMIT")
    except BaseException as exc:  # nothing of the group committed: each caller hears why
        if db.in_transaction:
            db.execute("ROLLBACK")
        if not isinstance(exc, Exception):
            raise
        error = _translated(exc) if isinstance(exc, sqlite3.Error) else exc
        return [(False, error)] * len(group)
    return outcomes
