"""`yangguang demo` leaves something to look at for every flow, once, and prints where to look."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.conftest import fresh_pg_database
from tests.support.processes import cli_env, run_cli, start_server, stop
from tests.support.servers import free_port


def _get(url: str, key: str | None = None) -> tuple[int, str]:
    headers = {"Accept": "text/html"} | ({"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(params=["sqlite", "postgres"])
def demo_env(request, tmp_path):  # type: ignore[no-untyped-def]
    port = free_port()
    base = {"YANGGUANG_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    if request.param == "sqlite":
        return cli_env(f"sqlite://{tmp_path}/db.sqlite3", tmp_path, **base), port
    # A migrated copy of the session's template (replaying the migrations is not what this is about);
    # the operator's `migrate` still runs first, as on a fresh install.
    env = cli_env(fresh_pg_database(request.getfixturevalue("pg_server")), tmp_path, **base)
    assert run_cli(["migrate"], env).returncode == 0
    return env, port


def test_demo_leaves_a_case_a_published_decision_and_its_notice_and_prints_the_urls(demo_env):
    env, port = demo_env
    first = run_cli(["demo"], env, timeout=120)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "演示数据已就绪" in out and "张明" in out
    base = f"http://127.0.0.1:{port}"
    decision_url = re.search(rf"{re.escape(base)}/d/[0-9a-f-]{{36}}", out)
    verify_url = re.search(rf"{re.escape(base)}/v/[A-Za-z0-9_-]+", out)
    case_id = re.search(r"notifications list --case ([0-9a-f-]{36})", out)
    assert decision_url and verify_url and case_id and f"{base}/api/docs" in out
    admin_key = next(line for line in out.splitlines() if "机构管理员密钥" in line).split()[-1]

    second = run_cli(["demo"], env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert decision_url.group(0) in second.stdout  # the same decision, nothing new
    listed = run_cli(["key", "list", "--code", "11330106MB0000012L"], env)
    assert listed.stdout.count("admin") == 1
    notes = run_cli(["notifications", "list", "--case", case_id.group(1)], env)
    assert notes.stdout.count("delivered") == 1 and "sandbox-" in notes.stdout  # the notice, once
    assert "/d/" in notes.stdout and "138****0000" in notes.stdout

    server = start_server(env, port)
    try:
        status, page = _get(decision_url.group(0))
        assert status == 200 and "公示中" in page and "演示1号" in page and "王小明" not in page
        status, page = _get(verify_url.group(0))
        assert status == 200 and "有效" in page
        status, page = _get(f"{base}/api/docs")
        assert status == 200 and "/api/v1/cases" in page
        status, body = _get(f"{base}/api/v1/cases", admin_key)
        [case] = json.loads(body)["items"]
        assert case["id"] == case_id.group(1) and case["status"] == "executing"
        assert [p["reachable"] for p in case["parties"]] == [True, False]
        status, body = _get(f"{base}/api/v1/notifications?case_id={case['id']}", admin_key)
        view = json.loads(body)
        assert [i["status"] for i in view["items"]] == ["delivered"] and len(view["unreachable_parties"]) == 1
        status, body = _get(f"{base}/api/v1/cases/{case['id']}/records", admin_key)
        steps = [r["step"] for r in json.loads(body)["items"]]
        assert steps == ["start", "on_site", "publication"]
        status, note = _get(f"{base}/log/checkpoint")
        assert status == 200 and note.startswith("yangguang.local/log\n")
    finally:
        stop(server)
    audited = run_cli(["audit", "verify"], env)  # every leaf matches its row: the demo went through the service
    assert audited.returncode == 0, audited.stdout + audited.stderr
