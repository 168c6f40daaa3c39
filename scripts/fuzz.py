"""Fuzz a live `yangguang serve` with schemathesis, on SQLite and on PostgreSQL.

    python scripts/fuzz.py --max-examples 60             # the long run (>= 10,000 requests per database)
    python scripts/fuzz.py --db sqlite --max-examples 5  # a quick look

For each database it starts a throwaway server (a fresh data folder; PostgreSQL from Debian's binaries
on a free loopback port), creates an agency with an admin key, and runs every schemathesis check
against every operation of /api/openapi.json, with the key, except ``positive_data_acceptance``:
domain rules beyond the schema (an enforcement officer needs a certificate number) answer 422 with
a stable code, which that check counts as a contradiction. Rate limits are raised so that the
checks reach the handlers. Prints, per database, the test cases sent, server errors and failures,
and exits non-zero on any failure. Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fuzzing import FuzzResult, fuzz  # noqa: E402
from tests.support.servers import start_postgres  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    results: list[FuzzResult] = []
    work = Path(tempfile.mkdtemp(prefix="yg-fuzz-"))
    try:
        if args.db in ("sqlite", "both"):
            results.append(fuzz(f"sqlite://{work / 'sqlite' / 'yangguang.sqlite3'}", work / "sqlite",
                                max_examples=args.max_examples, seed=args.seed, database="sqlite"))
        if args.db in ("postgres", "both"):
            pg = start_postgres()
            try:
                pg.psql("CREATE DATABASE fuzz")
                results.append(fuzz(pg.url("fuzz"), work / "postgres", max_examples=args.max_examples,
                                    seed=args.seed, database="postgres"))
            finally:
                pg.stop("immediate")
                shutil.rmtree(pg.datadir.parent, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for r in results:
        print(f"{r.database}: {r.test_cases} test cases, {r.server_errors} server errors, "
              f"{len(r.failures)} failures {[f.get('code') for f in r.failures]}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
