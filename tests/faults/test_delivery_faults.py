"""Every party gets every message, whatever fails: provider errors, a worker killed with SIGKILL,
Redis stopped, PostgreSQL restarted. Real PostgreSQL, real Redis, real `yangguang worker` processes,
the real Aliyun SDK against a fake Dysmsapi. Duplicates are counted and printed; they may only come
from a crash between the provider's acceptance and our record of it."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path
from typing import Any

import pytest

from backend.app import create_app
from backend.models import Notification
from backend.models.enums import NotificationStatus
from tests.conftest import make_settings
from tests.factories import an_agency
from tests.fakes.aliyun import FakeAliyun
from tests.faults.conftest import WORKER_ENV, spawn
from tests.notifications.helpers import a_case, a_decision

pytestmark = pytest.mark.timeout(180)
DONE = (NotificationStatus.SENT, NotificationStatus.DELIVERED)


@pytest.fixture
async def api(aiohttp_client, pg_url: str, redis_url: str, aliyun: FakeAliyun, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The HTTP service wired like production: PostgreSQL + Redis, no in-process worker."""
    settings = make_settings(pg_url, tmp_path / "api", redis_url=redis_url, aliyun_access_key_id="testAK",
                             aliyun_access_key_secret="testSecret", aliyun_sms_sign_name="阳光执法",
                             aliyun_sms_endpoint=aliyun.url,
                             notify_requeue_after=float(WORKER_ENV["YANGGUANG_NOTIFY_REQUEUE_AFTER"]))
    return await aiohttp_client(create_app(settings))


async def post(client, url: str, auth, body: Any = None, attempts: int = 30) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A client that retries 5xx (the database may be restarting)."""
    for _ in range(attempts):
        resp = await client.post(url, json=body, headers=auth)
        if resp.status < 500:
            assert resp.status in (200, 201), await resp.text()
            return await resp.json()
        await asyncio.sleep(0.3)
    raise AssertionError(f"{url} kept failing")


async def publish_one(client, auth) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    case = await a_case(client, auth, n_parties=2)
    decision = await a_decision(client, auth, case["id"])
    await post(client, f"/api/v1/decisions/{decision['id']}/publish", auth,
               {"preview_hash": (await preview(client, decision["id"], auth))["preview_hash"]})
    return decision


async def preview(client, decision_id: str, auth, proposal: dict[str, str] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The preview a person reads before publishing (or correcting), retried like ``post``."""
    url = f"/api/v1/decisions/{decision_id}/preview"
    for _ in range(30):
        resp = await (client.post(url, json=proposal, headers=auth) if proposal else client.get(url, headers=auth))
        if resp.status < 500:
            assert resp.status == 200, await resp.text()
            return await resp.json()
        await asyncio.sleep(0.3)
    raise AssertionError(f"{url} kept failing")


async def correct(client, decision_id: str, auth, summary: str, reason: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    proposal = {"summary": summary, "reason": reason}
    shown = await preview(client, decision_id, auth, proposal)
    return await post(client, f"/api/v1/decisions/{decision_id}/correct", auth,
                      {**proposal, "preview_hash": shown["preview_hash"]})


async def until(predicate: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def settle(expected: int, seconds: float = 90) -> list[Notification]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            rows = await Notification.all()
        except Exception:  # the database may be restarting
            rows = []
        if len(rows) == expected and all(r.status in DONE for r in rows):
            return rows
        if time.monotonic() > deadline:
            counts = collections.Counter(r.status.value for r in rows)
            stuck = [(r.status.value, r.attempts, r.provider_status, r.last_error, r.next_attempt_at, r.relayed_at)
                     for r in rows if r.status not in DONE][:5]
            raise AssertionError(f"not settled: {len(rows)} rows of {expected}, {dict(counts)}, {stuck}")
        await asyncio.sleep(0.25)


def tally(aliyun: FakeAliyun, rows: list[Notification], label: str) -> tuple[int, int]:
    """(lost, duplicates) as the provider saw them; printed for the record. A message is matched to its
    row by number and template (unique per row in these tests): batch sends carry the batch's OutId."""
    seen = collections.Counter((m["phone"], m["template"]) for m in aliyun.messages())
    expected = {(r.recipient, r.template) for r in rows}
    lost = sum(1 for key in expected if seen[key] == 0)
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    stray = sum(1 for key in seen if key not in expected)
    batched = sum(1 for m in aliyun.messages() if m.get("batch"))
    print(f"\n[{label}] messages={len(rows)} lost={lost} duplicates={duplicates} stray={stray} "
          f"(sent in batches: {batched})")
    assert stray == 0 and len(expected) == len(rows)
    return lost, duplicates


def one_row_per_party_and_event(rows: list[Notification]) -> None:
    keys = collections.Counter((r.event, r.event_ref, r.party_id) for r in rows)
    assert all(c == 1 for c in keys.values())


async def test_provider_errors_and_a_killed_worker_lose_nothing(api, aliyun, worker_env, workers, tmp_path):
    agency = await an_agency()
    aliyun.configure(fail_first=6, throttle_first=4, slow_first=2, slow_seconds=2.0, latency=0.15)
    workers.extend([spawn(worker_env, tmp_path, "w1"), spawn(worker_env, tmp_path, "w2")])
    for _ in range(20):
        await publish_one(api, agency.auth())
    # Kill one worker in the middle of the batch, with attempts in flight.
    await until(lambda: len(aliyun.messages()) >= 8)
    in_flight = await Notification.filter(status=NotificationStatus.SENDING).count()
    workers[0].kill9()
    killed_at = time.monotonic()
    workers.append(spawn(worker_env, tmp_path, "w3"))
    rows = await settle(40)
    print(f"\n[kill -9] in flight at kill: {in_flight}; all delivered {time.monotonic() - killed_at:.1f}s after it")
    lost, duplicates = tally(aliyun, rows, "500s + throttling + timeouts + kill -9")
    assert lost == 0
    assert duplicates <= in_flight  # only a crash between acceptance and our record could duplicate
    one_row_per_party_and_event(rows)


async def test_publishing_works_while_redis_is_down_and_delivery_follows(api, aliyun, worker_env, workers,
                                                                         tmp_path, redis_server):
    agency = await an_agency()
    workers.append(spawn(worker_env, tmp_path, "w1"))
    for _ in range(3):
        await publish_one(api, agency.auth())
    await settle(6)
    redis_server.stop()
    try:
        decisions = [await publish_one(api, agency.auth()) for _ in range(4)]  # Redis is down: still 200
        await correct(api, decisions[0]["id"], agency.auth(), "改为警告。", "依法从轻处罚")
        pending = await Notification.filter(status=NotificationStatus.PENDING).count()
        assert pending == 10
    finally:
        redis_server.start()  # an empty Redis: every queued job is gone
    rows = await settle(16, seconds=60)
    lost, duplicates = tally(aliyun, rows, "redis stopped")
    assert (lost, duplicates) == (0, 0)
    one_row_per_party_and_event(rows)
    corrections = [m for m in aliyun.messages() if m["template"] == "SMS_YG_CORRECTED"]
    assert len(corrections) == 2 and all("依法从轻处罚" in m["params"]["change"] for m in corrections)


async def test_postgresql_restart_under_load(api, aliyun, worker_env, workers, tmp_path, pg_server):
    agency = await an_agency()
    aliyun.configure(latency=0.05)
    workers.extend([spawn(worker_env, tmp_path, "w1"), spawn(worker_env, tmp_path, "w2")])

    async def load() -> None:
        for _ in range(20):
            await publish_one(api, agency.auth())

    publisher = asyncio.create_task(load())
    await until(lambda: len(aliyun.messages()) >= 6)
    await asyncio.to_thread(pg_server.restart)
    await publisher
    rows = await settle(40)
    lost, _ = tally(aliyun, rows, "postgresql restart")
    assert lost == 0
    one_row_per_party_and_event(rows)


async def test_done_means(api, aliyun, worker_env, workers, tmp_path, redis_server):
    """Twenty decisions with a provider failing its first requests; kill the worker; stop Redis;
    publish one more and correct one; bring both back: one SMS per party and event."""
    agency = await an_agency()
    aliyun.configure(fail_first=5, latency=0.05)
    workers.append(spawn(worker_env, tmp_path, "w1"))
    decisions = [await publish_one(api, agency.auth()) for _ in range(20)]
    await until(lambda: len(aliyun.messages()) >= 10)
    workers[0].kill9()
    redis_server.stop()
    try:
        await publish_one(api, agency.auth())
        await correct(api, decisions[0]["id"], agency.auth(), "罚款人民币一千元。", "金额更正")
    finally:
        redis_server.start()
    workers.append(spawn(worker_env, tmp_path, "w2"))
    rows = await settle(44)
    lost, duplicates = tally(aliyun, rows, "done means")
    assert lost == 0
    assert duplicates == 0
    one_row_per_party_and_event(rows)
    per_phone = collections.Counter((m["phone"], m["template"]) for m in aliyun.messages())
    assert all(c == 1 for c in per_phone.values())
