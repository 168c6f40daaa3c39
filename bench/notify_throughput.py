"""Outbox → fake Aliyun throughput, through real `yangguang worker` processes.

    python bench/notify_throughput.py --messages 10000 --workers 2

Starts PostgreSQL, Redis and the fake Dysmsapi (its own process), measures a baseline -- raw
SendSms calls per second through aliyun-python-sdk-core from 32 threads, no database, no queue --
then writes N pending notification rows at once (a burst of publications), starts the workers and
times until every row is ``sent``. Prints messages/second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.db import migrate, orm  # noqa: E402
from backend.models import Agency, Notification  # noqa: E402
from backend.models.enums import NotificationChannel, NotificationEvent, NotificationStatus  # noqa: E402
from backend.settings import Settings  # noqa: E402
from tests.support.servers import free_port, start_postgres, start_redis  # noqa: E402


def wait_port(port: int, seconds: float = 10) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def baseline(endpoint: str, seconds: float, threads: int) -> float:
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest

    client = AcsClient("testAK", "testSecret", "cn-hangzhou", auto_retry=False, timeout=5, pool_size=threads)
    count = [0] * threads
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        while time.monotonic() < stop:
            r = CommonRequest()
            r.set_accept_format("json")
            r.set_method("POST")
            r.set_domain(endpoint.removeprefix("http://"))
            r.set_protocol_type("http")
            r.set_version("2017-05-25")
            r.set_action_name("SendSms")
            for k, v in {"RegionId": "cn-hangzhou", "PhoneNumbers": f"1390{i:03d}{count[i] % 10000:04d}",
                         "SignName": "阳光执法", "TemplateCode": "SMS_YG_PUBLISHED",
                         "TemplateParam": json.dumps({"doc": "x"}), "OutId": str(uuid.uuid4())}.items():
                r.add_query_param(k, v)
            json.loads(client.do_action_with_exception(r))
            count[i] += 1

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(count) / (time.monotonic() - started)


async def seed(settings: Settings, n: int) -> None:
    async with orm(settings):
        agency = await Agency.create(name="压测局", credit_code=f"BENCH{uuid.uuid4().hex[:13].upper()}")
        rows = [Notification(idempotency_key=f"bench:{i}", event=NotificationEvent.AGENCY_NOTICE, event_ref="bench",
                             agency_id=agency.id, channel=NotificationChannel.SMS,
                             recipient=f"139{i:07d}1", template="SMS_YG_NOTICE",
                             params={"vars": {"agency": "压测局", "case": "2026-1", "text": "请留意"}},
                             content="压测局就案件2026-1通知您：请留意")
                for i in range(n)]
        for start in range(0, n, 2000):
            await Notification.bulk_create(rows[start:start + 2000])


DONE = [NotificationStatus.SENT, NotificationStatus.DELIVERED]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants (threads included)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, seconds)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, seen, todo = 0.0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


def postmaster_pid(datadir: Path) -> int:
    return int((datadir / "postmaster.pid").read_text().split()[0])


async def progress(settings: Settings, n: int, limit: float, timeline: list[tuple[float, int]]) -> tuple[float, int]:
    async with orm(settings):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            done = await Notification.filter(status__in=DONE).count()
            timeline.append((time.monotonic() - started, done))
            if done >= n:
                return time.monotonic() - started, done
            await asyncio.sleep(0.2)
        by_status: dict[str, int] = {}
        for row in await Notification.all().values("status", "attempts", "provider_status", "last_error"):
            key = f"{row['status']}/{row['attempts']}/{row['provider_status']}/{row['last_error'][:60]}"
            by_status[key] = by_status.get(key, 0) + 1
        print("not finished:", sorted(by_status.items(), key=lambda kv: -kv[1])[:8])
        return time.monotonic() - started, await Notification.filter(status__in=DONE).count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64, help="jobs per worker process")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--py-spy", metavar="DIR", default="",
                        help="record each worker with py-spy (raw collapsed stacks, one file per worker) into DIR")
    args = parser.parse_args()

    pg, redis = start_postgres(), start_redis()
    fake_port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.aliyun", "--port", str(fake_port)], cwd=ROOT)
    procs: list[subprocess.Popen[bytes]] = []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        wait_port(fake_port)
        endpoint = f"http://127.0.0.1:{fake_port}"
        pg.psql("CREATE DATABASE bench")
        db = pg.url("bench")
        asyncio.run(migrate(db))
        base = baseline(endpoint, 5, 32)
        print(f"baseline: raw SendSms through the SDK to the fake, 32 threads: {base:,.0f} calls/s")

        env = {**os.environ, "YANGGUANG_DATABASE_URL": db, "YANGGUANG_REDIS_URL": redis.url,
               "YANGGUANG_ALIYUN_ACCESS_KEY_ID": "testAK", "YANGGUANG_ALIYUN_ACCESS_KEY_SECRET": "testSecret",
               "YANGGUANG_ALIYUN_SMS_SIGN_NAME": "阳光执法", "YANGGUANG_ALIYUN_SMS_ENDPOINT": endpoint,
               "YANGGUANG_NOTIFY_CONCURRENCY": str(args.concurrency), "YANGGUANG_LOG_LEVEL": "WARNING",
               "YANGGUANG_LOG_FORMAT": "plain", "YANGGUANG_DATA_DIR": "/tmp/yg-bench", "PYTHONPATH": str(ROOT)}
        settings = Settings.from_env(env)
        asyncio.run(seed(settings, args.messages))
        others = {"PostgreSQL": [postmaster_pid(pg.datadir)], "Redis": [redis.proc.pid] if redis.proc else [],
                  "fake Dysmsapi": [fake.pid]}
        cpu_before = {name: cpu_seconds(pids) for name, pids in others.items()}
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], cwd=ROOT, env=env)
                 for _ in range(args.workers)]
        spies = [subprocess.Popen(["py-spy", "record", "--pid", str(p.pid), "--rate", "100", "--format", "raw",
                                   "-o", str(Path(args.py_spy) / f"worker-{i}.txt")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i, p in enumerate(procs)] if args.py_spy else []
        timeline: list[tuple[float, int]] = []
        elapsed, done = asyncio.run(progress(settings, args.messages, args.timeout, timeline))
        wall = time.monotonic() - started
        cpu = {"workers": cpu_seconds([p.pid for p in procs]),
               **{name: cpu_seconds(pids) - cpu_before[name] for name, pids in others.items()}}
        rate = done / elapsed
        print(f"outbox → arq ({args.workers} workers × {args.concurrency}) → SDK → fake: {done:,} messages "
              f"in {elapsed:.1f}s (incl. worker start-up; {wall:.1f}s wall) = {rate:,.0f} msg/s; "
              f"{rate / base:.0%} of the baseline")
        shares = ", ".join(f"{name} {seconds / wall:.2f}" for name, seconds in cpu.items())
        print(f"CPU during the run (cores): {shares}; machine load average {os.getloadavg()[0]:.1f}")
        first = next((t for t, d in timeline if d > 0), elapsed)
        print(f"first message sent after {first:.1f}s (worker start-up); then {done / max(elapsed - first, 1e-9):,.0f} "
              f"msg/s; sent by second: " + " ".join(
                  f"{max((d for t, d in timeline if t <= k), default=0):,}" for k in range(1, int(elapsed) + 2)))
    finally:
        for p in procs:
            p.terminate()
        for spy in spies:
            spy.wait(30)
        for p in procs:
            p.wait(20)
        fake.terminate()
        fake.wait(10)
        redis.stop()
        pg.stop("immediate")


if __name__ == "__main__":
    main()
