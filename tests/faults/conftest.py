"""Real parts for fault tests: PostgreSQL, Redis, `yangguang worker` processes, fake providers."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.aliyun import FakeAliyun
from tests.support.servers import RedisServer

ROOT = Path(__file__).resolve().parents[2]
_db = itertools.count(1)

# Short, so the whole suite stays within a few minutes.
WORKER_ENV = {
    "YANGGUANG_NOTIFY_RETRY_SCHEDULE": "0.2,0.5,1,2,3,5,8",
    "YANGGUANG_NOTIFY_JOB_TIMEOUT": "6",
    "YANGGUANG_NOTIFY_SDK_TIMEOUT": "1",
    "YANGGUANG_NOTIFY_STUCK_AFTER": "8",
    "YANGGUANG_NOTIFY_REQUEUE_AFTER": "3",
    "YANGGUANG_NOTIFY_CONCURRENCY": "16",
    "YANGGUANG_LOG_FORMAT": "plain",
    "YANGGUANG_LOG_LEVEL": "WARNING",
}


class WorkerProcess:
    """One `python -m backend.cli worker` process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log = open(self.log_path, "ab")  # closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], cwd=ROOT,
                                     env={**os.environ, **self.env}, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "log"):
            self.log.close()


@pytest.fixture(scope="session")
def fault_aliyun() -> Iterator[FakeAliyun]:
    server = FakeAliyun().start()
    yield server
    server.stop()


@pytest.fixture
def aliyun(fault_aliyun: FakeAliyun) -> FakeAliyun:
    fault_aliyun.configure(fail_first=0, throttle_first=0, slow_first=0, slow_seconds=0.0, latency=0.0)
    fault_aliyun.call(fault_aliyun.state.messages.clear)
    return fault_aliyun


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A Redis database of its own (flushed), on the shared test Redis."""
    n = 2 + next(_db) % 14
    url = f"redis://127.0.0.1:{redis_server.port}/{n}"
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def worker_env(pg_url: str, redis_url: str, aliyun: FakeAliyun, tmp_path: Path) -> dict[str, Any]:
    return {**WORKER_ENV, **aliyun.env(), "YANGGUANG_DATABASE_URL": pg_url, "YANGGUANG_REDIS_URL": redis_url,
            "YANGGUANG_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Start with workers.append(spawn()); every process is stopped at the end."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.stop()


def spawn(env: dict[str, str], tmp_path: Path, name: str = "worker") -> WorkerProcess:
    return WorkerProcess(env, tmp_path / f"{name}-{time.monotonic_ns()}.log").start()
