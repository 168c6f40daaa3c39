"""The SQLite baseline: an empty database brought up to date in a fraction of a second.

tortoise's migration runner rebuilds every model's state per operation, so replaying the migrations on
a new SQLite file costs seconds of CPU (~3 s with backend/migration_state.py, ~9 s without), paid by the
embedded default's first command and by every fresh folder. ``migrations/sqlite_baseline.json`` holds
what those migrations leave behind (the schema in creation order, the rows they write, SQLite's own
counters and settings), written by ``scripts/makemigrations`` from a real run. ``migrate`` loads it into
an empty file and then runs the migrations as usual, which apply only those the baseline does not list.
A test replays the migrations and compares the two databases object by object and row by row
(``fingerprint``): it fails when a new migration was added without rewriting the baseline.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parent.parent / "migrations" / "sqlite_baseline.json"
RECORDER = "tortoise_migrations"  # tortoise's table of applied migrations
_PRAGMAS = ("page_size", "auto_vacuum", "encoding", "journal_mode", "user_version", "application_id")


def _is_empty(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def _shadow_tables(con: sqlite3.Connection) -> set[str]:
    """Tables a virtual table (FTS5) creates and fills itself: recreated by its CREATE VIRTUAL TABLE."""
    return {row[1] for row in con.execute("PRAGMA table_list") if row[2] == "shadow"}


def capture(path: str | Path) -> dict[str, Any]:
    """What a migrated database holds, as the baseline file stores it."""
    con = sqlite3.connect(path)
    try:
        shadow = _shadow_tables(con)
        objects = [
            (kind, name, sql)
            for kind, name, sql in con.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            )
            if not name.startswith("sqlite_") and name not in shadow
        ]
        rows: list[dict[str, Any]] = []
        for kind, name, sql in objects:
            if kind != "table" or sql.upper().startswith("CREATE VIRTUAL"):
                continue
            cur = con.execute(f'SELECT * FROM "{name}" ORDER BY rowid')  # nosec B608: names from sqlite_master
            values = [list(r) for r in cur.fetchall()]
            if values:
                rows.append({"table": name, "columns": [d[0] for d in cur.description], "values": values})
        sequence = [list(r) for r in con.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name")]
        applied = [list(r) for r in con.execute(f'SELECT app, name FROM "{RECORDER}" ORDER BY id')]  # nosec B608
        pragmas = {p: con.execute(f"PRAGMA {p}").fetchone()[0] for p in _PRAGMAS}
    finally:
        con.close()
    return {
        "migrations": applied,
        "pragmas": pragmas,
        "tables": [sql for kind, _, sql in objects if kind == "table"],
        "rows": rows,
        "objects": [sql for kind, _, sql in objects if kind != "table"],  # indexes, triggers, views
        "sqlite_sequence": sequence,
    }


def load_into_empty(path: str, applied_at: str, baseline: Path = BASELINE) -> bool:
    """Build the baseline's database in ``path`` if it holds nothing yet; True when it did. The
    recorder's rows say ``applied_at`` (tortoise's format: UTC, ``YYYY-MM-DD HH:MM:SS.ffffff+00:00``)."""
    if not baseline.exists():
        return False
    con = sqlite3.connect(path, isolation_level=None)
    try:
        if not _is_empty(con):
            return False
        data = json.loads(baseline.read_text(encoding="utf-8"))
        pragmas = data["pragmas"]
        # Settings fixed when the first page is written, then the mode the file keeps.
        con.execute(f"PRAGMA page_size={int(pragmas['page_size'])}")
        con.execute(f"PRAGMA auto_vacuum={int(pragmas['auto_vacuum'])}")
        con.execute(f"PRAGMA encoding='{pragmas['encoding']}'")
        con.execute("BEGIN IMMEDIATE")
        if not _is_empty(con):  # another process got there first
            con.execute("ROLLBACK")
            return False
        try:
            for sql in data["tables"]:
                con.execute(sql)
            # Rows before indexes and triggers: the rows already are what the triggers made them.
            for block in data["rows"]:
                columns = block["columns"]
                values = block["values"]
                if block["table"] == RECORDER:
                    at = columns.index("applied_at")
                    values = [[*v[:at], applied_at, *v[at + 1 :]] for v in values]
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                con.executemany(f'INSERT INTO "{block["table"]}" ({names}) VALUES ({marks})', values)  # nosec B608
            for sql in data["objects"]:
                con.execute(sql)
            con.execute("DELETE FROM sqlite_sequence")
            con.executemany("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", data["sqlite_sequence"])
            con.execute(f"PRAGMA user_version={int(pragmas['user_version'])}")
            con.execute(f"PRAGMA application_id={int(pragmas['application_id'])}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute(f"PRAGMA journal_mode={pragmas['journal_mode']}")
    finally:
        con.close()
    return True


def fingerprint(path: str | Path) -> dict[str, Any]:
    """Everything that makes two databases the same: objects, every table's rows (shadow tables and
    SQLite's counters included) and settings; the recorder's timestamps left out."""
    con = sqlite3.connect(path)
    try:
        objects = sorted(
            con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'sqlite_stat1'")
        )
        tables: dict[str, list[tuple[Any, ...]]] = {}
        for kind, name, _, sql in objects:
            if kind != "table" or (sql or "").upper().startswith("CREATE VIRTUAL"):
                continue
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
            if name == RECORDER:
                columns.remove("applied_at")
            listed = ", ".join(f'"{c}"' for c in columns)
            tables[name] = sorted(con.execute(f'SELECT {listed} FROM "{name}"'), key=repr)  # nosec B608
        pragmas = {p: con.execute(f"PRAGMA {p}").fetchone()[0] for p in _PRAGMAS}
    finally:
        con.close()
    return {"objects": objects, "tables": tables, "pragmas": pragmas}


def write(target: Path = BASELINE) -> None:
    """Replay every migration on a new file the slow way and store what it left (scripts/makemigrations)."""
    import asyncio
    import tempfile

    from backend.db import migrate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baseline.sqlite3"
        asyncio.run(migrate(f"sqlite://{path}", use_baseline=False))
        data = capture(path)
    target.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{target}: {len(data['migrations'])} migrations, {len(data['tables'])} tables")


def now_for_recorder() -> str:
    from backend.clock import Clock

    return str(Clock().now().astimezone(UTC))


if __name__ == "__main__":
    write()
