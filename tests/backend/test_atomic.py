"""backend/atomic.py: a transaction as a program of statements; on SQLite, programs queued meanwhile
commit as one transaction with a savepoint each. What it must keep: a program's writes commit
together or not at all, one failing program loses none of the others, and nobody is answered before
COMMIT has returned. Both databases unless said otherwise."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import date, datetime

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from backend import atomic
from backend.clock import SHANGHAI
from backend.errors import Conflict
from backend.models import AuditEvent, Complaint, ComplaintUpload, Officer
from backend.models.enums import ComplaintAbout, ComplaintKind, ComplaintStatus
from backend.services import audit
from tests.factories import an_agency

AT = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


def _entry(action: str) -> AuditEvent:
    return audit.entry("key:test", action, "atomic-test", action)


def writes(n: int, *, fail: bool = False, clash: uuid.UUID | None = None):  # type: ignore[no-untyped-def]
    """A program writing two audit entries, failing between them if asked (a domain error, or the
    database's: an upload whose id is taken)."""
    def program(db: atomic.Db) -> atomic.Program[int]:
        yield from db.insert(_entry(f"p{n}.first"))
        if fail:
            raise Conflict("测试：本程序失败", code="test_failure")
        if clash is not None:
            yield from db.insert(ComplaintUpload(id=clash, sha256="0" * 64, size_bytes=1, width=1, height=1,
                                                 source_format="JPEG", uploaded_at=AT))
        yield from db.insert(_entry(f"p{n}.second"))
        return n

    return program


async def _actions() -> set[str]:
    return set(await AuditEvent.filter(target_type="atomic-test").values_list("action", flat=True))  # type: ignore[arg-type]


async def test_one_failing_program_loses_none_of_the_others_and_leaves_nothing_of_its_own(db):
    # Started together: on SQLite they are queued before the writer runs, so they share one group.
    taken = uuid.uuid4()
    await ComplaintUpload.create(id=taken, sha256="1" * 64, size_bytes=1, width=1, height=1, source_format="JPEG",
                                 uploaded_at=AT)
    programs = [writes(0), writes(1), writes(2, fail=True), writes(3), writes(4, clash=taken), writes(5)]
    results = await asyncio.gather(*(atomic.run(p) for p in programs), return_exceptions=True)
    assert results[:2] == [0, 1] and results[3] == 3 and results[5] == 5
    assert isinstance(results[2], Conflict) and results[2].code == "test_failure"
    assert isinstance(results[4], IntegrityError)
    # The failed programs' first entries went with them; everyone else's both entries stayed.
    assert await _actions() == {f"p{n}.{w}" for n in (0, 1, 3, 5) for w in ("first", "second")}


async def test_a_program_answered_is_committed_as_another_connection_sees_it(db):
    assert await atomic.run(writes(7)) == 7
    url = db.database_url
    if url.startswith("sqlite://"):
        other = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            rows = other.execute("SELECT action FROM audit_event WHERE target_type = 'atomic-test'").fetchall()
        finally:
            other.close()
    else:
        pg = await asyncpg.connect(url)
        try:
            rows = await pg.fetch("SELECT action FROM audit_event WHERE target_type = 'atomic-test'")
        finally:
            await pg.close()
    assert {r[0] for r in rows} == {"p7.first", "p7.second"}


async def test_when_the_groups_commit_fails_nobody_is_answered_and_nothing_stays(db):
    if not db.database_is_sqlite:
        pytest.skip("group commit is SQLite's (PostgreSQL runs each program in its own transaction)")

    def breaks_at_commit(db: atomic.Db) -> atomic.Program[str]:
        # A foreign key checked only at COMMIT: the group's COMMIT fails, not this statement.
        yield "PRAGMA defer_foreign_keys = ON", []
        yield from db.insert(_entry("breaker"))
        yield from db.insert(Officer(agency_id=uuid.uuid4(), name="无此机关", certificate_no="X0000000001",
                                     categories=[], region=""))
        return "answered"

    results = await asyncio.gather(atomic.run(writes(0)), atomic.run(breaks_at_commit), atomic.run(writes(1)),
                                   return_exceptions=True)
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert await _actions() == set()
    # The connection is usable afterwards: the next group commits.
    assert await atomic.run(writes(2)) == 2
    assert await _actions() == {"p2.first", "p2.second"}


async def test_inside_an_open_transaction_a_program_is_part_of_it(db):
    from tortoise.transactions import in_transaction

    with pytest.raises(RuntimeError):
        async with in_transaction():
            assert await atomic.run(writes(8)) == 8
            raise RuntimeError("the outer transaction rolls back")
    assert await _actions() == set()


async def test_insert_of_writes_what_save_writes(db):
    """``insert_of`` uses tortoise's executor internals; a tortoise upgrade changing them fails here."""
    agency = (await an_agency()).agency

    def a_complaint(leaf_index: int) -> Complaint:
        return Complaint(id=uuid.uuid4(), tracking_no=f"T261204-{uuid.uuid4().hex[:4].upper()}-0000",
                         kind=ComplaintKind.COMPLAINT, about=ComplaintAbout.AGENCY, agency_id=agency.id,
                         text="文本", photos=[{"upload_id": "u", "sha256": "0" * 64}], address="某地",
                         anonymous=True, channel="miniprogram", status=ComplaintStatus.SUBMITTED,
                         submitted_at=AT, salt="ab" * 16, query_code_hash="cd" * 32,
                         acknowledge_due_on=date(2026, 12, 8), answer_due_on=date(2026, 12, 31),
                         acknowledge_days=3, answer_days=15, due_on_provisional=False, leaf_index=leaf_index)

    saved, inserted = a_complaint(5), a_complaint(6)
    await saved.save()

    def program(db: atomic.Db) -> atomic.Program[None]:
        yield from db.insert(inserted)
        yield from db.insert(_entry("inserted"))

    await atomic.run(program)
    await audit.record("key:test", "saved", "atomic-test", "saved")
    skip = {"id", "tracking_no", "leaf_index", "created_at", "updated_at"}
    a, b = await Complaint.get(id=saved.id).values(), await Complaint.get(id=inserted.id).values()
    assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}
    assert a["created_at"] is not None and b["created_at"] is not None
    e1 = await AuditEvent.get(action="saved").values()
    e2 = await AuditEvent.get(action="inserted").values()
    skip = {"id", "at", "action", "target_id"}
    assert {k: v for k, v in e1.items() if k not in skip} == {k: v for k, v in e2.items() if k not in skip}
    assert inserted._saved_in_db  # a later save() updates the row, as after save()
    inserted.address = "另一地"
    await inserted.save(update_fields=["address"])
    assert await Complaint.filter(id=inserted.id).count() == 1


async def test_the_sqlite_writer_runs_on_tortoise_s_one_connection(db):
    if not db.database_is_sqlite:
        pytest.skip("SQLite only")
    conn = connections.get("default")
    await atomic.run(writes(9))
    assert conn._connection is not None and not conn._connection._conn.in_transaction
