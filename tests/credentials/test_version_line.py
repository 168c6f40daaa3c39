"""The verify cache's version reads: its own Redis line (handshake, database, batching, failures).

A scan trusts its cache only with the version Redis holds after the scan arrived; when Redis cannot
answer, the version is None and the scan reads the database.
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

from backend.services.disclosure.verification import VerifyCache
from tests.support.servers import RedisServer, free_port, start_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, so stopping it disturbs no other test."""
    server = start_redis()
    yield server
    server.stop()


async def test_concurrent_scans_share_reads_and_see_every_change_made_before_they_arrived(redis_server):
    pool = ArqRedis.from_url(redis_server.url.rsplit("/", 1)[0] + "/5")  # not database 0: the line selects it
    writer, reader = VerifyCache(pool), VerifyCache(pool)
    try:
        before = await reader.version()
        assert isinstance(before, int)
        await writer.invalidate()  # another process's committed change
        after = await asyncio.gather(*(reader.version() for _ in range(50)))
        assert set(after) == {before + 1}
        assert int(await pool.get("yg:cred:version")) == before + 1  # the pool's database 5, read by the line
    finally:
        await reader.close()
        await pool.aclose()


async def test_while_redis_is_down_the_version_is_none_and_reads_resume_when_it_is_back(own_redis):
    pool = ArqRedis.from_url(own_redis.url, socket_timeout=2, socket_connect_timeout=2)
    cache = VerifyCache(pool)
    try:
        assert isinstance(await cache.version(), int)
        own_redis.stop()
        assert await cache.version() is None  # line lost: bypass the cache
        assert await cache.version() is None  # reconnect refused: still bypassed
        own_redis.start()
        assert await cache.version() == 0  # a new line, a fresh Redis
    finally:
        await cache.close()
        await pool.aclose()


async def test_a_line_that_gets_no_answer_gives_up_within_its_timeout():
    # A listener that accepts and never answers: the read fails after the timeout instead of hanging.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    pool = ArqRedis.from_url(f"redis://127.0.0.1:{port}/0")
    cache = VerifyCache(pool, read_timeout=0.2)
    try:
        assert await asyncio.wait_for(cache.version(), 5) is None
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


async def test_the_line_authenticates_with_the_urls_password_and_a_wrong_one_means_no_cache(redis_with_password):
    good = ArqRedis.from_url(redis_with_password.replace("redis://", "redis://:s3cret@") + "/2")
    bad = ArqRedis.from_url(redis_with_password.replace("redis://", "redis://:wrong@") + "/2")
    await good.set("yg:cred:version", 7)
    caches = [VerifyCache(good), VerifyCache(bad)]
    try:
        assert await caches[0].version() == 7
        assert await caches[1].version() is None
    finally:
        for cache in caches:
            await cache.close()
        await good.aclose()
        await bad.aclose()
