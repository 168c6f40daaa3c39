"""`yangguang demo` loads the demo data once and prints what to try."""

from __future__ import annotations

from tests.support.processes import cli_env, run_cli


def test_demo_loads_once_and_prints_working_keys(tmp_path):
    env = cli_env(f"sqlite://{tmp_path}/db.sqlite3", tmp_path)
    first = run_cli(["demo"], env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "演示数据已就绪" in first.stdout and "张明" in first.stdout
    second = run_cli(["demo"], env, timeout=120)
    assert second.returncode == 0, second.stderr
    keys = [line for line in second.stdout.splitlines() if "机构管理员密钥" in line]
    assert keys and "yg_" in keys[0]
    listed = run_cli(["key", "list", "--code", "11330106MB0000012L"], env)
    assert listed.stdout.count("admin") == 1  # the second run created nothing new
