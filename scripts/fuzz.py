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
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import cli_env, run_cli, start_server, stop  # noqa: E402
from tests.support.servers import free_port, start_postgres  # noqa: E402

EXCLUDED_CHECKS = "positive_data_acceptance"


@dataclass
class FuzzResult:
    database: str
    test_cases: int
    server_errors: int
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and not self.failures


def fuzz(db_url: str, data_dir: Path, *, max_examples: int, seed: int | None = None,
         database: str = "") -> FuzzResult:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = cli_env(db_url, data_dir, YANGGUANG_SCAN_RATE_PER_MINUTE="1000000",
                  YANGGUANG_AGENCY_NOTICE_PER_HOUR="1000000")
    run_cli(["migrate"], env)
    created = run_cli(["agency", "create", "--name", "模糊测试局", "--code", "91330106MA2KXXXX05"], env)
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(env, port)
    report = data_dir / "schemathesis.json"
    try:
        cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/api/openapi.json",
               "-H", f"Authorization: Bearer {key}", "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
               "--max-examples", str(max_examples), "--request-timeout", "20",
               "--report-json-path", str(report), "--no-color"]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        proc = subprocess.run(cmd, cwd=data_dir, capture_output=True, text=True, timeout=3600)
    finally:
        stop(server)
    if not report.exists():
        raise RuntimeError(f"schemathesis wrote no report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text())
    failures = list(data.get("failures") or [])
    server_errors = sum(int(f.get("count", 1)) for f in failures if f.get("code") == "ST101")
    result = FuzzResult(database, int(data["test_cases"]["generated"]), server_errors, failures)
    if not result.ok:
        print(proc.stdout[-6000:], file=sys.stderr)
    return result


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
