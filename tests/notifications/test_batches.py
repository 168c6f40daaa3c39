"""The relay's fast path: many rows per job, one SendBatchSms per template, through the real SDK."""

from __future__ import annotations

import uuid
from datetime import timedelta

from backend.models import Notification
from backend.models.enums import NotificationChannel, NotificationEvent, NotificationStatus
from notifications import tasks
from notifications.deps import build_deps
from tests.factories import an_agency
from tests.notifications.conftest import provider_settings


async def rows(phones: list[str]) -> list[Notification]:
    agency = await an_agency()
    return [await Notification.create(idempotency_key=str(uuid.uuid4()), event=NotificationEvent.AGENCY_NOTICE,
                                      event_ref="r", agency_id=agency.agency.id, channel=NotificationChannel.SMS,
                                      recipient=phone, template="SMS_YG_NOTICE", params={"vars": {"text": "请留意"}},
                                      content="请留意") for phone in phones]


async def test_a_batch_goes_out_in_one_call_and_one_bad_number_does_not_sink_it(client, db_url, tmp_path,
                                                                                   fake_aliyun):
    deps = build_deps(provider_settings(db_url, tmp_path, fake_aliyun, None))
    good = await rows(["13900000011", "13900000021", "13900000031"])
    counts = await tasks.deliver_batch(deps, [n.id for n in good])
    assert counts == {"sent": 3, "skipped": 0}
    sent = fake_aliyun.messages()
    assert len(sent) == 3 and all(m["batch"] for m in sent) and len({m["biz_id"] for m in sent}) == 1
    assert {n.provider_id for n in await Notification.filter(id__in=[n.id for n in good])} == {sent[0]["biz_id"]}

    fake_aliyun.call(fake_aliyun.state.messages.clear)
    mixed = await rows(["13900000041", "13900000400", "13900000051"])
    counts = await tasks.deliver_batch(deps, [n.id for n in mixed])
    assert counts == {"sent": 2, "failed": 1, "skipped": 0}
    assert sorted(m["phone"] for m in fake_aliyun.messages()) == ["13900000041", "13900000051"]
    assert await tasks.deliver_batch(deps, [n.id for n in mixed]) == {"skipped": 3}  # nothing twice


async def test_a_batch_accepted_just_before_a_crash_is_found_not_sent_again(client, db_url, tmp_path, fake_aliyun):
    deps = build_deps(provider_settings(db_url, tmp_path, fake_aliyun, None))
    batch = await rows(["13900000061", "13900000071"])
    channel = deps.channels[NotificationChannel.SMS]
    batch_id = str(uuid.uuid4())
    await channel.send_batch(batch, batch_id)  # the provider accepted; then the worker died
    # What the claim had written, and what the sweeper leaves behind.
    await Notification.filter(id__in=[n.id for n in batch]).update(
        status=NotificationStatus.PENDING, provider_id="batch:" + batch_id, provider_status=tasks.AMBIGUOUS,
        attempts=1)
    counts = await tasks.deliver_batch(deps, [n.id for n in batch])
    assert counts == {"sent": 2, "skipped": 0}
    assert len(fake_aliyun.messages()) == 2  # found by QuerySendDetails, not sent again
    assert {n.provider_status for n in await Notification.filter(id__in=[n.id for n in batch])} == {
        "found_after_ambiguous"}


async def test_claim_many_takes_only_due_pending_rows_once_and_counts_the_attempt(client, db_url, tmp_path, clock):
    deps = build_deps(provider_settings(db_url, tmp_path, None, None), clock)
    due, later, done = await rows(["13900000081", "13900000091", "13900000101"])
    await Notification.filter(id=later.id).update(next_attempt_at=clock.now() + timedelta(hours=1))
    await Notification.filter(id=done.id).update(status=NotificationStatus.SENT)
    claimed = await tasks.claim_many(deps, [due.id, later.id, done.id])
    assert [(n.id, n.status, n.attempts, n.channel) for n in claimed] == [
        (due.id, NotificationStatus.SENDING, 1, NotificationChannel.SMS)]
    stored = await Notification.get(id=due.id)
    assert (stored.status, stored.attempts) == (NotificationStatus.SENDING, 1)
    assert await tasks.claim_many(deps, [due.id, later.id, done.id]) == []  # the claim guard: never twice


async def test_numbers_at_their_daily_cap_wait_and_every_batch_of_a_job_carries_the_job_s_marker(
        client, db_url, tmp_path, fake_aliyun, clock):
    deps = build_deps(provider_settings(db_url, tmp_path, fake_aliyun, None, notify_daily_cap=1), clock)
    full, other = await rows(["13900000111", "13900000121"])
    await Notification.filter(id=full.id).update(status=NotificationStatus.SENT, sent_at=clock.now())
    at_cap, fresh = await rows(["13900000111", "13900000131"])  # the first number had its one SMS today
    second_template = (await rows(["13900000141"]))[0]
    await Notification.filter(id=second_template.id).update(template="SMS_YG_PUBLISHED")
    counts = await tasks.deliver_batch(deps, [at_cap.id, fresh.id, second_template.id, other.id])
    assert counts == {"sent": 3, "capped": 1, "skipped": 0}
    waiting = await Notification.get(id=at_cap.id)
    assert (waiting.status, waiting.attempts) == (NotificationStatus.PENDING, 0)
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at > clock.now()
    sent = fake_aliyun.messages()
    assert sorted(m["phone"] for m in sent) == ["13900000121", "13900000131", "13900000141"]
    assert all(m["batch"] for m in sent)
    assert len({m["template"] for m in sent}) == 2 and len({m["out_id"] for m in sent}) == 1  # two calls, one id


async def test_two_workers_claiming_the_same_rows_at_once_share_them_out_never_both(client, db_url, tmp_path, clock):
    import asyncio

    deps = build_deps(provider_settings(db_url, tmp_path, None, None), clock)
    ids = [n.id for n in await rows([f"139{i:07d}1" for i in range(300, 340)])]
    # Two statements at once on two connections of the pool, as two workers would send them.
    first, second = await asyncio.gather(tasks.claim_many(deps, ids), tasks.claim_many(deps, list(reversed(ids))))
    assert sorted(n.id for n in first + second) == sorted(ids)  # every row claimed once, by one of them
    assert not {n.id for n in first} & {n.id for n in second}
