"""Live status across processes: two real `yangguang serve` processes sharing PostgreSQL and Redis.

A suspension made through process A shows on the very next scan through process B, although B had
the card in its cache a moment before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from backend.clock import Clock
from tests.conftest import PUBLIC_BASE
from tests.credentials.support import next_year
from tests.factories import credit_code, officer_body
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(pg_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "YANGGUANG_DATABASE_URL": pg_url, "YANGGUANG_REDIS_URL": redis_url,
            "YANGGUANG_DATA_DIR": str(data_dir), "YANGGUANG_PUBLIC_BASE_URL": PUBLIC_BASE,
            "YANGGUANG_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}


def _wait_until_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling a starting process: there is nothing to wait on instead
    raise RuntimeError("serve did not come up")


@pytest.fixture
def two_servers(pg_url: str, redis_server, tmp_path: Path) -> Iterator[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    env = _env(pg_url, redis_server.url, tmp_path / "data")
    out = subprocess.run([sys.executable, "-m", "backend.cli", "agency", "create", "--name", "两进程测试局",
                          "--code", credit_code()], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(p)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_until_up(port, proc)
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", key
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)


async def test_a_suspension_through_one_process_shows_on_the_next_scan_through_another(two_servers):
    a, b, key = two_servers
    auth = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as http:
        async def post(base: str, path: str, body: dict) -> dict:  # type: ignore[type-arg]
            async with http.post(base + path, json=body, headers=auth) as resp:
                assert resp.status in (200, 201), await resp.text()
                return await resp.json()

        async def scan(base: str, token: str) -> str:
            async with http.get(f"{base}/mp/v1/verify/{token}") as resp:
                return (await resp.json())["status"]

        officer = await post(a, "/api/v1/officers", officer_body())
        cred = await post(a, f"/api/v1/officers/{officer['id']}/credentials", {"valid_until": next_year(Clock())})
        token = cred["token"]
        assert await scan(b, token) == "valid"
        assert await scan(b, token) == "valid"  # B has it cached now
        assert await scan(a, token) == "valid"

        await post(a, f"/api/v1/credentials/{cred['id']}/suspend", {"reason": "暂扣"})
        assert await scan(b, token) == "suspended"
        async with http.get(f"{b}/v/{token}") as resp:
            assert 'id="status">暂扣<' in await resp.text()

        await post(b, f"/api/v1/credentials/{cred['id']}/reinstate", {})
        assert await scan(a, token) == "valid"
        new = await post(a, f"/api/v1/credentials/{cred['id']}/reissue", {"reason": "换证"})
        assert await scan(b, token) == "void"
        assert await scan(b, new["token"]) == "valid"
        await post(b, f"/api/v1/credentials/{new['id']}/revoke", {"reason": "调离"})
        assert await scan(a, new["token"]) == "revoked"
