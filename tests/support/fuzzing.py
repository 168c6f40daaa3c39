"""schemathesis against a live `yangguang serve` (a real process on a loopback port): shared by
the bounded test (tests/contract/test_schemathesis.py) and the long run (scripts/fuzz.py).

Every check runs except ``positive_data_acceptance``: domain rules beyond the schema (an enforcement
officer needs a certificate number) answer 422 with a stable code, which that check counts as a
contradiction. Rate limits are raised so that the checks reach the handlers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import cli_env, run_cli, start_server, stop
from tests.support.servers import free_port

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
