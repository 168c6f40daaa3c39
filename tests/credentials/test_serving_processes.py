"""Live status across processes: real `yangguang serve` processes sharing PostgreSQL and Redis.

A committed suspension shows on the very next scan through every process, although each had the card
in its cache a moment before and none asks Redis anything per scan: the writer publishes the change
and waits until every serving process has confirmed it, or until the lease of one that cannot has run
out. Process C talks to Redis through a proxy, so its line can be slowed, silenced or cut while A
and B talk to Redis directly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import redis as redis_sync

from backend.clock import Clock
from tests.conftest import PUBLIC_BASE, fresh_pg_database
from tests.credentials.support import next_year
from tests.factories import credit_code, officer_body
from tests.support.servers import PostgresServer, RedisServer, free_port, start_redis
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
LEASE = 1.0  # YANGGUANG_SCAN_LEASE_SECONDS of every process here (the default is 3)


def _env(pg_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "YANGGUANG_DATABASE_URL": pg_url, "YANGGUANG_REDIS_URL": redis_url,
            "YANGGUANG_DATA_DIR": str(data_dir), "YANGGUANG_PUBLIC_BASE_URL": PUBLIC_BASE,
            "YANGGUANG_LOG_LEVEL": "WARNING", "YANGGUANG_SCAN_LEASE_SECONDS": str(LEASE), "PYTHONPATH": str(ROOT)}


def _wait_until_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
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


def _serve(env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_up(port, proc)
    return f"http://127.0.0.1:{port}", proc


def _leases(redis: redis_sync.Redis) -> set[str]:
    return {m.decode() for m in redis.smembers("yg:cred:leases")}  # type: ignore[union-attr]


@dataclass
class Fleet:
    a: str
    b: str
    c: str  # through the proxy
    key: str
    proxy: TcpProxy
    redis: redis_sync.Redis
    env: dict[str, str]  # A's and B's (Redis directly)


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """This module's own Redis: no other test's leases in it, and killing its clients disturbs no one."""
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet(pg_server: PostgresServer, own_redis: RedisServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    pg_url, data = fresh_pg_database(pg_server), tmp_path_factory.mktemp("fleet") / "data"
    env = _env(pg_url, own_redis.url, data)
    out = subprocess.run([sys.executable, "-m", "backend.cli", "agency", "create", "--name", "多进程测试局",
                          "--code", credit_code()], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    proxy = TcpProxy("127.0.0.1", own_redis.port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        (a, pa), (b, pb) = _serve(env), _serve(env)
        c, pc = _serve(_env(pg_url, f"redis://127.0.0.1:{proxy.port}/0", data))
        procs += [pa, pb, pc]
        yield Fleet(a, b, c, key, proxy, redis_sync.Redis.from_url(own_redis.url), env)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)
        proxy.close()


@dataclass
class Api:
    http: aiohttp.ClientSession
    key: str

    async def post(self, base: str, path: str, body: dict) -> dict:  # type: ignore[type-arg]
        async with self.http.post(base + path, json=body, headers={"Authorization": f"Bearer {self.key}"}) as resp:
            assert resp.status in (200, 201), await resp.text()
            return await resp.json()  # type: ignore[no-any-return]

    async def scan(self, base: str, token: str) -> str:
        async with self.http.get(f"{base}/mp/v1/verify/{token}") as resp:
            return (await resp.json())["status"]  # type: ignore[no-any-return]

    async def card(self, base: str) -> tuple[str, str]:
        officer = await self.post(base, "/api/v1/officers", officer_body())
        cred = await self.post(base, f"/api/v1/officers/{officer['id']}/credentials",
                               {"valid_until": next_year(Clock())})
        return cred["id"], cred["token"]


@pytest.fixture
async def api(fleet: Fleet) -> AsyncIterator[Api]:
    fleet.proxy.delay, fleet.proxy.stalled, fleet.proxy.refusing = 0.0, False, False
    async with aiohttp.ClientSession() as http:
        yield Api(http, fleet.key)


async def _warm(api: Api, token: str, *bases: str) -> None:
    for base in bases:
        assert await api.scan(base, token) == "valid"
        assert await api.scan(base, token) == "valid"  # now in that process's cache


async def _c_resynced(fleet: Fleet, before: set[str]) -> None:
    """C holds a new lease (registered through the proxy), so it trusts its cache again."""
    deadline = time.monotonic() + 20
    while not (_leases(fleet.redis) - before):
        assert time.monotonic() < deadline, "C did not register a new lease"
        await asyncio.sleep(0.05)  # C reconnects on its own schedule: nothing to await instead
    await asyncio.sleep(0.1)  # its renewal's answer travels back through the proxy


async def test_a_suspension_through_one_process_shows_on_the_next_scan_through_every_other(fleet, api):
    a, b, c = fleet.a, fleet.b, fleet.c
    cred_id, token = await api.card(a)
    await _warm(api, token, a, b, c)
    assert len(_leases(fleet.redis)) == 3  # one per serving process

    await api.post(a, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"})
    assert await api.scan(b, token) == "suspended"
    assert await api.scan(c, token) == "suspended"
    async with api.http.get(f"{b}/v/{token}") as resp:
        assert 'id="status">暂扣<' in await resp.text()

    await api.post(b, f"/api/v1/credentials/{cred_id}/reinstate", {})
    assert await api.scan(a, token) == "valid"
    assert await api.scan(c, token) == "valid"
    new = await api.post(c, f"/api/v1/credentials/{cred_id}/reissue", {"reason": "换证"})
    assert await api.scan(b, token) == "void"
    assert await api.scan(a, token) == "void"
    await _warm(api, new["token"], a, b, c)
    await api.post(b, f"/api/v1/credentials/{new['id']}/revoke", {"reason": "调离"})
    assert await api.scan(a, new["token"]) == "revoked"
    assert await api.scan(c, new["token"]) == "revoked"


async def test_the_writer_waits_for_a_process_slow_to_hear_of_the_change(fleet, api):
    # Everything Redis sends C arrives 0.4 s late (its lease still holds): the suspension must not
    # answer before C has cleared its cache and said so.
    cred_id, token = await api.card(fleet.a)
    await _warm(api, token, fleet.c)
    fleet.proxy.delay = 0.4
    await api.post(fleet.a, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"})
    assert await api.scan(fleet.c, token) == "suspended"


async def test_a_process_whose_line_goes_silent_stops_trusting_its_cache(fleet, api):
    # C's connection to Redis stays open but nothing gets through: C hears of no change, and its
    # lease is not renewed. The writer waits out C's lease; C stopped trusting its cache before that.
    cred_id, token = await api.card(fleet.a)
    await _warm(api, token, fleet.c, fleet.b)
    fleet.proxy.stalled = True
    await asyncio.wait_for(api.post(fleet.a, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"}),
                           LEASE * 10)
    assert await api.scan(fleet.b, token) == "suspended"
    assert await api.scan(fleet.c, token) == "suspended"
    assert await api.scan(fleet.c, token) == "suspended"
    fleet.proxy.stalled = False  # C's line times out or catches up; either way it trusts again later
    await api.post(fleet.a, f"/api/v1/credentials/{cred_id}/reinstate", {})
    assert await api.scan(fleet.c, token) == "valid"
    await _warm(api, token, fleet.c)
    await api.post(fleet.b, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"})
    assert await api.scan(fleet.c, token) == "suspended"


async def test_a_process_whose_redis_connection_is_killed_never_serves_a_stale_status(fleet, api):
    cred_id, token = await api.card(fleet.a)
    await _warm(api, token, fleet.c)
    before = _leases(fleet.redis)
    fleet.proxy.refusing = True  # C cannot reconnect until the test allows it
    for addr in fleet.proxy.upstream_addrs:
        try:
            fleet.redis.execute_command("CLIENT", "KILL", "ADDR", addr)
        except redis_sync.ResponseError:
            pass  # a connection C had before and already lost
    await asyncio.wait_for(api.post(fleet.a, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"}),
                           LEASE * 10)
    assert await api.scan(fleet.c, token) == "suspended"
    assert await api.scan(fleet.c, token) == "suspended"

    fleet.proxy.refusing = False
    await _c_resynced(fleet, before)
    await api.post(fleet.a, f"/api/v1/credentials/{cred_id}/reinstate", {})
    await _warm(api, token, fleet.c)
    await api.post(fleet.b, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"})
    assert await api.scan(fleet.c, token) == "suspended"  # pushed to C again on its new line


async def test_a_writer_waits_for_a_dead_process_no_longer_than_its_lease(fleet, api):
    cred_id, token = await api.card(fleet.a)
    before = _leases(fleet.redis)
    d, proc = _serve(fleet.env)
    try:
        await _warm(api, token, d, fleet.b)
        (dead,) = _leases(fleet.redis) - before
        proc.send_signal(signal.SIGKILL)  # no chance to give its lease back
        proc.wait(10)
        assert fleet.redis.exists(f"yg:cred:lease:{dead}")
        await asyncio.wait_for(api.post(fleet.a, f"/api/v1/credentials/{cred_id}/suspend", {"reason": "暂扣"}),
                               LEASE * 10)
        # It answered only once the dead process's lease had run out, and it did answer.
        assert not fleet.redis.exists(f"yg:cred:lease:{dead}")
        assert await api.scan(fleet.b, token) == "suspended"
        await api.post(fleet.a, f"/api/v1/credentials/{cred_id}/reinstate", {})
        assert dead not in _leases(fleet.redis)  # the next writer forgot it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
