"""The gauges `/metrics` reads from the database at scrape time: notifications, the outbox, the log and
overdue items, each counted from the rows (service level, no HTTP)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.clock import FrozenClock
from backend.models import Decision, LegalReview, Notification
from backend.models.enums import DecisionStatus, NotificationChannel, NotificationEvent, NotificationStatus
from backend.services import clocks, gauges, statistics
from backend.services.transparency.checkpoints import make_checkpoint
from tests.services.test_legal_review import NOW, a_world


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


async def _notification(agency_id: uuid.UUID, channel: NotificationChannel, **fields: object) -> Notification:
    return await Notification.create(idempotency_key=str(uuid.uuid4()), event=NotificationEvent.AGENCY_NOTICE,
                                     event_ref="r", agency_id=agency_id, channel=channel, recipient="13900000011",
                                     template="SMS_YG_NOTICE", content="请留意", **fields)


async def test_notifications_by_channel_and_status_and_the_age_of_the_oldest_due_one(db, frozen):
    world = await a_world(frozen)
    now = frozen.now()
    due = await _notification(world.agency.id, NotificationChannel.SMS)
    await Notification.filter(id=due.id).update(created_at=now - timedelta(seconds=90))
    later = await _notification(world.agency.id, NotificationChannel.SMS, next_attempt_at=now + timedelta(minutes=5))
    await Notification.filter(id=later.id).update(created_at=now - timedelta(hours=1))
    await _notification(world.agency.id, NotificationChannel.WECHAT, status=NotificationStatus.DELIVERED)

    g = await gauges.read(frozen)
    assert g.notifications[("sms", "pending")] == 2
    assert g.notifications[("wechat", "delivered")] == 1
    assert g.notifications[("wechat", "failed")] == 0  # every pair reported, zeros included
    assert g.outbox_backlog == 1  # the retry scheduled in five minutes is not due yet
    assert g.queue_age["sms"] == 90.0
    assert g.queue_age["wechat"] == 0.0

    frozen.advance(minutes=10)  # now the retry is due too, since 5 minutes
    g = await gauges.read(frozen)
    assert g.outbox_backlog == 2
    assert g.queue_age["sms"] == 90.0 + 600


async def test_log_size_unsigned_entries_and_the_time_since_the_last_checkpoint(db, frozen):
    world = await a_world(frozen)
    assert world is not None
    g = await gauges.read(frozen)
    assert g.log_entries > 0 and g.log_unsigned == g.log_entries
    await make_checkpoint(db, frozen)
    frozen.advance(seconds=42)
    g = await gauges.read(frozen)
    assert g.log_unsigned == 0
    assert g.checkpoint_age == 42.0


async def test_overdue_items_by_kind_count_what_is_past_its_deadline_and_nothing_else(db, frozen):
    world = await a_world(frozen)
    # 20 November 2026: the agency's 2025 statistics are overdue until reported and published.
    assert (await gauges.read(frozen)).overdue["statistics"] == 1
    await statistics.submit(world.agency.id, 2025, "test", frozen)
    assert (await gauges.read(frozen)).overdue["statistics"] == 1  # published by 31 January: still late
    await statistics.publish(world.agency.id, 2025, "test", frozen)
    g = await gauges.read(frozen)
    assert g.overdue == {"publication": 0, "withdrawal": 0, "review": 0, "complaint": 0, "rectification": 0,
                         "register": 0,
                         "statistics": 0}

    review = await world.submit()
    frozen.advance(days=(review.due_on - frozen.today()).days)
    assert (await gauges.read(frozen)).overdue["review"] == 0  # due today: not yet overdue
    frozen.advance(days=1)
    assert (await gauges.read(frozen)).overdue["review"] == 1
    await LegalReview.filter(id=review.id).update(status="approved")
    assert (await gauges.read(frozen)).overdue["review"] == 0

    late = frozen.today() - timedelta(days=1)
    draft = await Decision.create(case_id=world.case.id, agency_id=world.agency.id, type="penalty",
                                  document_no="杭西市监罚〔2026〕1号", summary="罚款", decided_at=frozen.today(),
                                  publish_due_on=late)
    revoked = await Decision.create(case_id=world.case.id, agency_id=world.agency.id, type="penalty",
                                    document_no="杭西市监罚〔2026〕2号", summary="罚款", decided_at=frozen.today(),
                                    status=DecisionStatus.PUBLISHED, publish_due_on=late, withdraw_due_on=late)
    g = await gauges.read(frozen)
    assert g.overdue["publication"] == 1 and g.overdue["withdrawal"] == 1
    # the gauge and the supervisor's overdue view count by one rule (clocks.due_by)
    listed = {kind: (await clocks.overdue_decisions(kind, frozen, page=1, page_size=50))[1]
              for kind in ("publication", "withdrawal")}
    assert listed == {"publication": 1, "withdrawal": 1}
    await Decision.filter(id=draft.id).update(status=DecisionStatus.PUBLISHED)
    # a publication period that ended before the withdrawal leaves nothing public to withdraw
    await Decision.filter(id=revoked.id).update(status=DecisionStatus.ENDED)
    g = await gauges.read(frozen)
    assert g.overdue["publication"] == 0 and g.overdue["withdrawal"] == 0
    await Decision.filter(id=revoked.id).update(status=DecisionStatus.WITHDRAWN)
    assert (await gauges.read(frozen)).overdue["withdrawal"] == 0


async def test_an_escalated_complaint_stays_overdue_until_it_is_answered(db, frozen):
    """The gauge counts what the supervisor's overdue view lists (complaints.handling.overdue_q)."""
    from backend.models import Complaint
    from backend.models.enums import ComplaintKind, ComplaintStatus
    from tests.factories import an_agency

    agency = await an_agency()
    late = frozen.today() - timedelta(days=1)
    complaint = await Complaint.create(tracking_no="T261201-TEST-0001", kind=ComplaintKind.COMPLAINT,
                                       agency_id=agency.agency.id, text="未受理", status=ComplaintStatus.ESCALATED,
                                       acknowledge_due_on=late, answer_due_on=frozen.today() + timedelta(days=10))
    assert (await gauges.read(frozen)).overdue["complaint"] == 1
    await Complaint.filter(id=complaint.id).update(status=ComplaintStatus.ANSWERED)
    assert (await gauges.read(frozen)).overdue["complaint"] == 0
