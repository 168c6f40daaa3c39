"""Every migration replayed on an empty database, by tortoise's runner as it comes and with
``backend/migration_state.py`` installed: the time of each and whether they issue the same SQL.

    python bench/migrate_bench.py [--database sqlite|postgres|both] [--rounds 1]

Each replay runs in a process of its own (the module patches tortoise for the whole process) on a new
database: an empty SQLite file (the baseline left out: it is what a replay would leave) and an empty
database on a throwaway PostgreSQL (Debian's binaries). Every statement tortoise sends is logged
(``tortoise.db_client``); the two lists must be the same statement for statement, the recorder's
timestamps aside, or the bench exits 1. Prints each replay's seconds and the ratio ours / tortoise's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_VOLATILE = [  # what differs between two replays of the same SQL: when, where, which object
    (re.compile(r"datetime\.datetime\([^]]*\]"), "<applied_at>]"),
    (re.compile(r"0x[0-9a-f]+"), "<address>"),
]
_NOT_SQL = re.compile(r"^(Created|Closed) connection")  # the client's own notes, naming the database


def child(runner: str, url: str, sql_out: Path) -> None:
    from backend import migration_state
    from backend.db import migrate

    if runner == "tortoise":
        migration_state.install = lambda: None  # type: ignore[assignment]  # migrate's call does nothing
    statements: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if _NOT_SQL.match(text):
                return
            for pattern, replacement in _VOLATILE:
                text = pattern.sub(replacement, text)
            statements.append(text)

    log = logging.getLogger("tortoise.db_client")
    log.setLevel(logging.DEBUG)
    log.addHandler(Collect())
    log.propagate = False
    started = time.perf_counter()
    asyncio.run(migrate(url, use_baseline=False))
    elapsed = time.perf_counter() - started
    sql_out.write_text(json.dumps(statements, ensure_ascii=False, indent=0), encoding="utf-8")
    print(json.dumps({"seconds": elapsed, "statements": len(statements)}))


def replay(runner: str, url: str, sql_out: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", runner, "--url", url, "--sql-out", str(sql_out)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", choices=("tortoise", "ours"))
    parser.add_argument("--url")
    parser.add_argument("--sql-out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.sql_out)
        return 0

    from tests.support.servers import start_postgres

    work = Path(tempfile.mkdtemp(prefix="yg-migrate-bench-"))
    pg = start_postgres() if args.database in ("postgres", "both") else None
    databases = [d for d in ("sqlite", "postgres") if args.database in (d, "both")]
    ok = True
    try:
        for database in databases:
            seconds: dict[str, list[float]] = {"tortoise": [], "ours": []}
            same = True
            for round_no in range(args.rounds):
                for runner in ("tortoise", "ours"):  # alternated: a load change hits both
                    name = f"{database}_{runner}_{round_no}"
                    if pg is not None and database == "postgres":
                        pg.psql(f"CREATE DATABASE {name}")
                        url = pg.url(name)
                    else:
                        url = f"sqlite://{work / name}.sqlite3"
                    seconds[runner].append(replay(runner, url, work / f"{name}.json")["seconds"])
                same = same and (work / f"{database}_tortoise_{round_no}.json").read_text(encoding="utf-8") == (
                    work / f"{database}_ours_{round_no}.json").read_text(encoding="utf-8")
            ok = ok and same
            theirs, ours = min(seconds["tortoise"]), min(seconds["ours"])
            count = len(json.loads((work / f"{database}_ours_0.json").read_text(encoding="utf-8")))
            print(f"{database:9} tortoise {theirs:6.1f} s   ours {ours:6.1f} s   ratio {ours / theirs:.2f}   "
                  f"{count} statements, {'the same' if same else 'DIFFERENT'} SQL")
    finally:
        if pg is not None:
            pg.stop("immediate")
    if not ok:
        print(f"the runners sent different SQL: compare the files in {work}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
