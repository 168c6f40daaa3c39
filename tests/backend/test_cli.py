"""The `yangguang` command as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

from tests.factories import credit_code
from tests.support.processes import cli_env, run_cli, start_server, stop
from tests.support.servers import free_port


def _get(url: str, key: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _post(url: str, key: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_agency_create_prints_the_key_alone_on_the_last_line_and_refuses_duplicates(tmp_path):
    env = cli_env(f"sqlite://{tmp_path}/db.sqlite3", tmp_path)
    code = credit_code()
    result = run_cli(["agency", "create", "--name", "西湖区市场监督管理局", "--code", code], env)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("yg_") and " " not in key and len(key) > 40
    again = run_cli(["agency", "create", "--name", "重复", "--code", code], env)
    assert again.returncode == 1
    assert "agency_exists" in again.stderr
    bad = run_cli(["agency", "create", "--name", "坏代码", "--code", "123"], env)
    assert bad.returncode == 1 and "invalid_credit_code" in bad.stderr
    listed = run_cli(["key", "list", "--code", code], env)
    assert "admin" in listed.stdout and key not in listed.stdout


def test_migrate_twice_then_two_server_processes_share_postgresql_and_redis(pg_server, redis_server, tmp_path):
    from tests.conftest import fresh_pg_database

    # A migrated copy of the template: `migrate` on an empty PostgreSQL is the end of
    # test_on_an_unmigrated_postgresql_every_command_names_yangguang_migrate (one replay, not two).
    url = fresh_pg_database(pg_server)
    env = cli_env(url, tmp_path, YANGGUANG_REDIS_URL=redis_server.url)
    for _ in range(2):
        result = run_cli(["migrate"], env)
        assert result.returncode == 0, result.stderr
    key = run_cli(["agency", "create", "--name", "甲局", "--code", credit_code()], env).stdout.splitlines()[-1]

    port_a, port_b = free_port(), free_port()
    a, b = start_server(env, port_a), start_server(env, port_b)
    try:
        status, created = _post(f"http://127.0.0.1:{port_a}/api/v1/officers", key,
                                {"name": "王五", "certificate_no": "33019999000001", "categories": ["城管"]})
        assert status == 201, created
        status, seen = _get(f"http://127.0.0.1:{port_b}/api/v1/officers/{created['id']}", key)
        assert status == 200 and seen["name"] == "王五"
        assert _get(f"http://127.0.0.1:{port_b}/readyz")[1]["checks"] == {"database": "ok", "redis": "ok"}
        assert _get(f"http://127.0.0.1:{port_b}/api/v1/officers", "yg_forged")[0] == 401
    finally:
        stop(a)
        stop(b)


def test_serve_with_workers_runs_several_processes_on_one_port(pg_url, tmp_path):
    env = cli_env(pg_url, tmp_path)
    key = run_cli(["agency", "create", "--name", "乙局", "--code", credit_code()], env).stdout.splitlines()[-1]
    port = free_port()
    server = start_server(env, port, "--workers", "2")
    try:
        children = _children(server.pid)
        assert len(children) == 2, children
        for _ in range(10):
            assert _get(f"http://127.0.0.1:{port}/api/v1/officers", key)[0] == 200
    finally:
        stop(server)
    assert all(not _alive(pid) for pid in children)

    # `serve` killed outright (OOM killer, kill -9): its workers stop too instead of serving on orphaned.
    server = start_server(env, port, "--workers", "2")
    children = _children(server.pid)
    assert len(children) == 2, children
    server.kill()
    server.wait(10)
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


DATA_COMMANDS = [
    ["key", "list", "--code", "11330106MB0000012L"],
    ["notifications", "list"],
    ["credentials", "expire"],
    ["credentials", "print-sheet", "--agency", "11330106MB0000012L", "--out", "sheets"],
    ["key", "revoke", "--code", "11330106MB0000012L", "--id", "598a5370-a97c-4009-93e3-469db871ea81"],
    ["agency", "create", "--name", "空目录局", "--code", credit_code()],
]


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


def test_every_command_works_in_an_empty_folder_on_the_embedded_default(tmp_path):
    """No YANGGUANG_ variables at all, a fresh folder: each command builds its own SQLite database."""
    for i, args in enumerate(DATA_COMMANDS):
        folder = tmp_path / f"fresh{i}"
        folder.mkdir()
        env = cli_env("", folder)
        del env["YANGGUANG_DATABASE_URL"], env["YANGGUANG_DATA_DIR"]
        result = run_cli(args, env, cwd=folder)
        assert "no such table" not in result.stderr, (args, result.stderr)
        _no_traceback(result)
        # Expected outcomes: done, or a one-line Chinese error about the missing agency.
        assert result.returncode == 0 or "未找到" in result.stderr, (args, result.stderr)
        assert (folder / "var" / "yangguang.sqlite3").exists()


def test_on_an_unmigrated_postgresql_every_command_names_yangguang_migrate(pg_server, tmp_path):
    name = f"empty{uuid.uuid4().hex[:8]}"
    pg_server.psql(f"CREATE DATABASE {name}")
    env = cli_env(pg_server.url(name), tmp_path)
    for args in [*DATA_COMMANDS, ["demo"]]:
        result = run_cli(args, env, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        _no_traceback(result)
        assert "yangguang migrate" in result.stderr, (args, result.stderr)
    port = free_port()
    served = subprocess.run([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert served.returncode == 1 and "yangguang migrate" in served.stderr, served.stderr
    _no_traceback(served)
    # After the named command, the same command works.
    assert run_cli(["migrate"], env, cwd=tmp_path).returncode == 0
    assert run_cli(["notifications", "list"], env, cwd=tmp_path).returncode == 0


def test_an_unreachable_postgresql_is_a_one_line_error(tmp_path):
    env = cli_env(f"postgres://postgres@127.0.0.1:{free_port()}/nothing", tmp_path)
    for args in (["migrate"], ["key", "list", "--code", "11330106MB0000012L"]):
        result = run_cli(args, env, cwd=tmp_path)
        assert result.returncode == 1 and "无法连接数据库" in result.stderr, result.stderr
        _no_traceback(result)
