"""The scan cache's invalidation line: one RESP3 connection per serving cache carrying its lease,
its subscription and its acknowledgements; and the writer's side (publish, then wait).

A cache trusts its entries only while its line is up and its lease is renewed; otherwise the scan
reads the database. Other processes are played here by plain redis-py clients, so each side is tested
against the real Redis protocol and not against our own other half.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from arq.connections import ArqRedis

from backend.services.disclosure.verification import ACK_PREFIX, LEASE_PREFIX, LEASES_KEY, VerifyCache
from tests.support.servers import RedisServer, free_port, start_redis

CHANNEL = "yg:cred:invalidate:0"


async def _until(condition, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)  # waiting on the cache's own background line: nothing to await instead


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own: no other test's leases in it, and stopping it disturbs no one."""
    server = start_redis()
    yield server
    server.stop()


async def test_a_published_invalidation_clears_the_cache_before_it_is_acknowledged(own_redis):
    pool = ArqRedis.from_url(own_redis.url)
    cache = VerifyCache(pool, lease_seconds=5)
    try:
        assert cache.version() is None  # not yet subscribed: read the database
        assert await cache.synced()
        (lease,) = {m.decode() for m in await pool.smembers(LEASES_KEY)}
        assert 0 < await pool.pttl(LEASE_PREFIX + lease) <= 5000
        cache.put("tok", cache.version(), {"status": "valid"})
        assert cache.get("tok", cache.version()) == (True, {"status": "valid"})
        reading_under = cache.version()  # a scan that began reading the database before the change

        assert await pool.publish(CHANNEL, ACK_PREFIX + "t1") == 1  # another process's writer
        _, acked = await pool.blpop([ACK_PREFIX + "t1"], timeout=5)
        assert acked.decode() == lease
        assert cache.get("tok", cache.version()) == (False, None)
        cache.put("tok", reading_under, {"status": "valid"})  # its answer arrives after the change
        assert cache.get("tok", cache.version()) == (False, None)
    finally:
        await cache.close()
    assert await pool.smembers(LEASES_KEY) == set()  # given back on close: no writer waits for it
    await pool.aclose()


async def _a_process(pool: ArqRedis, lease: str, ttl_ms: int, acked: list[str], delay: float) -> None:
    """Another serving process, played by redis-py: holds a lease and acknowledges late."""
    await pool.set(LEASE_PREFIX + lease, 1, px=ttl_ms)
    await pool.sadd(LEASES_KEY, lease)
    async with pool.pubsub() as sub:
        await sub.subscribe(CHANNEL)
        while True:
            message = await sub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                await asyncio.sleep(delay)
                acked.append(lease)
                await pool.rpush(message["data"], lease)
                return


async def test_the_writer_answers_only_after_every_live_lease_acknowledged(own_redis):
    pool = ArqRedis.from_url(own_redis.url)
    acked: list[str] = []
    others = [asyncio.create_task(_a_process(pool, name, 10_000, acked, delay))
              for name, delay in (("p1", 0.3), ("p2", 0.1))]
    deadline = time.monotonic() + 5
    while (await pool.pubsub_numsub(CHANNEL))[0][1] < 2:  # both subscribed
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    writer = VerifyCache(pool)  # a writer only (a worker job, the CLI): it holds no lease itself
    try:
        await asyncio.wait_for(writer.invalidate(), 5)
        assert sorted(acked) == ["p1", "p2"]  # it waited for the slower one
        assert await pool.exists(LEASE_PREFIX + "p1")  # and not for a lease to run out
        assert int(await pool.get("yg:cred:version")) == 1  # the counter older releases read, still bumped
    finally:
        await asyncio.gather(*others)
        await pool.aclose()


async def test_the_writer_waits_out_a_lease_that_never_acknowledges_and_then_forgets_it(own_redis):
    pool = ArqRedis.from_url(own_redis.url)
    await pool.set(LEASE_PREFIX + "dead", 1, px=600)  # a process killed before it could give it back
    await pool.sadd(LEASES_KEY, "dead")
    writer = VerifyCache(pool)
    try:
        await asyncio.wait_for(writer.invalidate(), 5)  # bounded by the lease
        assert not await pool.exists(LEASE_PREFIX + "dead")  # answered only once the lease was gone
        await writer.invalidate()
        assert await pool.smembers(LEASES_KEY) == set()
    finally:
        await pool.aclose()


async def test_a_killed_line_stops_trusting_at_once_and_comes_back_with_an_empty_cache(own_redis):
    pool = ArqRedis.from_url(own_redis.url)
    cache = VerifyCache(pool, lease_seconds=60)  # the lease alone would keep trust for a minute
    try:
        assert await cache.synced()
        (old,) = {m.decode() for m in await pool.smembers(LEASES_KEY)}
        cache.put("tok", cache.version(), {"status": "valid"})
        clients = (await pool.execute_command("CLIENT", "LIST")).decode().splitlines()
        (mine,) = [c for c in clients if f"name=yg-scan-{old}" in c]
        await pool.execute_command("CLIENT", "KILL", "ID", mine.split()[0].removeprefix("id="))
        await _until(lambda: not cache.trusted, 5)  # the lost connection, not the lease, ends trust
        assert cache.version() is None
        await _until(lambda: cache.trusted, 10)  # reconnected on its own
        assert cache.get("tok", cache.version()) == (False, None)
        leases = {m.decode() for m in await pool.smembers(LEASES_KEY)}
        assert old not in leases and len(leases) == 1  # a new lease; the old one given back
    finally:
        await cache.close()
        await pool.aclose()


async def test_a_cache_whose_lease_is_not_renewed_stops_trusting_it_though_its_line_is_up(own_redis):
    pool = ArqRedis.from_url(own_redis.url)
    cache = VerifyCache(pool, lease_seconds=0.6)
    try:
        assert await cache.synced()
        cache.put("tok", cache.version(), {"status": "valid"})
        await pool.execute_command("CLIENT", "PAUSE", "1500", "WRITE")  # renewals (SET) wait, reads do not
        await _until(lambda: not cache.trusted, 1.4)
        assert cache._line is not None and not cache._line.closed  # still connected: the lease ended trust
        assert cache.version() is None
        await _until(lambda: cache.trusted, 5)  # the renewal answered after the pause: trusted again
    finally:
        await cache.close()
        await pool.aclose()


async def test_while_redis_is_down_the_cache_is_not_trusted_and_it_resyncs_when_redis_is_back(own_redis):
    pool = ArqRedis.from_url(own_redis.url, socket_timeout=2, socket_connect_timeout=2)
    cache = VerifyCache(pool)
    try:
        assert await cache.synced()
        own_redis.stop()
        await _until(lambda: not cache.trusted, 5)
        assert cache.version() is None
        await asyncio.sleep(0.6)  # a reconnect attempt is refused meanwhile
        assert cache.version() is None
        own_redis.start()
        assert await cache.synced()  # a new line, a fresh Redis
        assert len(await pool.smembers(LEASES_KEY)) == 1
    finally:
        await cache.close()
        await pool.aclose()


async def test_it_reconnects_on_its_own_when_the_loops_timers_fire_a_little_early(own_redis, monkeypatch):
    # uvloop measures a timer's delay from its cached loop time, a few ms behind time.monotonic(), so
    # the retry timer fires before the retry is due by the cache's own clock. It must retry anyway:
    # once deferred, nothing but a scan would ever reconnect (CI saw a process stay off for good).
    pool = ArqRedis.from_url(own_redis.url, socket_timeout=2, socket_connect_timeout=2)
    cache = VerifyCache(pool)
    try:
        assert await cache.synced()
        loop = asyncio.get_running_loop()
        on_time = loop.call_later
        monkeypatch.setattr(loop, "call_later",
                            lambda delay, callback, *args: on_time(max(0.0, delay - 0.005), callback, *args))
        own_redis.stop()
        await _until(lambda: not cache.trusted, 5)
        await asyncio.sleep(0.6)  # a retry is refused meanwhile
        own_redis.start()
        await _until(lambda: cache.trusted, 10)  # no scan asked (`trusted` does not): the timers did it
    finally:
        await cache.close()
        await pool.aclose()


async def test_a_line_that_gets_no_answer_never_trusts_and_gives_up_within_its_timeout():
    # A listener that accepts and never answers: the cache stays untrusted instead of hanging.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    pool = ArqRedis.from_url(f"redis://127.0.0.1:{port}/0")
    cache = VerifyCache(pool, read_timeout=0.2)
    try:
        assert not await cache.synced(within=0.5)
        assert cache.version() is None
        assert cache._line is None or cache._line.closed
    finally:
        await cache.close()
        await pool.aclose()
        silent.close()


@pytest.fixture
def redis_with_password(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
                             "--requirepass", "s3cret"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


async def test_the_line_authenticates_selects_the_urls_database_and_a_wrong_password_means_no_cache(
        redis_with_password):
    good = ArqRedis.from_url(redis_with_password.replace("redis://", "redis://:s3cret@") + "/2")
    bad = ArqRedis.from_url(redis_with_password.replace("redis://", "redis://:wrong@") + "/2")
    caches = [VerifyCache(good), VerifyCache(bad)]
    try:
        assert await caches[0].synced()
        assert len(await good.smembers(LEASES_KEY)) == 1  # registered in database 2, the URL's
        assert not await caches[1].synced(within=1)
        assert caches[1].version() is None
        # Subscribed to database 2's channel, the one a writer on database 2 publishes on.
        assert await good.publish("yg:cred:invalidate:2", ACK_PREFIX + "db2") == 1
        assert await good.blpop([ACK_PREFIX + "db2"], timeout=5) is not None
    finally:
        for cache in caches:
            await cache.close()
        await good.aclose()
        await bad.aclose()
