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
import urllib.request
from collections.abc import Callable
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


def a_case(base_url: str, key: str) -> dict[str, str]:
    """Create a case through the API; its id for the operations whose paths name one (the evidence
    upload stores files only for a real case)."""
    req = urllib.request.Request(f"{base_url}/api/v1/cases", method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"}, data=json.dumps(
        {"title": "模糊测试案件", "type": "penalty", "parties": [{"kind": "person", "name": "李四"}]}).encode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        return {"case_id": json.loads(resp.read())["id"]}


def fuzz(db_url: str, data_dir: Path, *, max_examples: int, seed: int | None = None, database: str = "",
         paths: str | None = None, path_values: Callable[[str, str], dict[str, str]] | None = None,
         integrator: bool = False, **settings: str) -> FuzzResult:
    """``paths``: only the operations whose path matches this regular expression; ``path_values``:
    called with the server's base URL and the key, returns fixed path parameters (``{"case_id": …}``);
    ``integrator``: call with an Open311 integrator key instead of the agency's admin key."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = cli_env(db_url, data_dir, YANGGUANG_SCAN_RATE_PER_MINUTE="1000000",
                  YANGGUANG_AGENCY_NOTICE_PER_HOUR="1000000", **settings)
    run_cli(["migrate"], env)
    created = run_cli(["agency", "create", "--name", "模糊测试局", "--code", "91330106MA2KXXXX05"], env)
    key = created.stdout.strip().splitlines()[-1]
    if integrator:  # the Open311 routes: an integrator key of a named system, made by the CLI
        key = run_cli(["key", "create", "--code", "91330106MA2KXXXX05", "--role", "integrator",
                       "--system", "模糊测试热线"], env).stdout.strip().splitlines()[-1]
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
        if paths is not None:
            cmd += ["--include-path-regex", paths]
        config = data_dir / "schemathesis.toml"  # schemathesis reads it from its working folder
        config.unlink(missing_ok=True)
        if path_values is not None:
            fixed = path_values(f"http://127.0.0.1:{port}", key)
            config.write_text("[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n' for k, v in fixed.items()))
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
