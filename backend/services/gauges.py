"""What `/metrics` reads from the database when it is scraped: the truth every process shares.

Counters live in the processes (``backend.metrics``); these are gauges of state, computed on demand
so that the scan path never pays for them and any number of processes report the same values.

Overdue items, by kind, counted from what the schema holds today:

* ``publication``: decisions still in draft past their ``publish_due_on`` (R-P1);
* ``withdrawal``: revoked decisions still public past their ``withdraw_due_on`` (R-P3);
* ``review``: legal reviews still waiting past their ``due_on`` (R-L4);
* ``complaint``: complaints not answered past ``answer_due_on``, or not acknowledged past
  ``acknowledge_due_on`` (R-X2);
* ``rectification``: orders to rectify still owed past their ``due_on`` (escalated ones included
  until answered, R-X3);
* ``register``: register changes not public past their ``publish_due_on`` (20 working days, R-D4);
* ``statistics``: annual reports (统计年报) not submitted past 15 January or not published past
  31 January (``services/statistics.overdue``, the rule of the overdue views).

The dates are the ones ``services/clocks.py`` and ``services/complaints`` store (working days on
the official calendar).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from backend.clock import Clock
from backend.metrics import Gauges
from backend.models import Complaint, Decision, LegalReview, LogCheckpoint, LogLeaf, Notification, Rectification
from backend.models.enums import (
    NotificationChannel,
    NotificationStatus,
    ReviewStatus,
)
from backend.services import clocks, statistics
from backend.services.complaints import handling as complaint_handling
from backend.services.registers import versions as register_versions
from backend.services.supervision import rectifications

OVERDUE_KINDS = ("publication", "withdrawal", "review", "complaint", "rectification", "register", "statistics")


def _seconds(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _when(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


async def read(clock: Clock) -> Gauges:
    now = clock.now()
    today = now.date()
    g = Gauges()
    for channel in NotificationChannel:
        for status in NotificationStatus:
            g.notifications[(channel.value, status.value)] = 0
        g.queue_age[channel.value] = 0.0
    counts = await Notification.all().annotate(n=Count("id")).group_by("channel", "status") \
        .values_list("channel", "status", "n")
    for channel, status, n in counts:
        key = (getattr(channel, "value", channel), getattr(status, "value", status))
        g.notifications[key] = int(n)

    # Due and unclaimed: pending with no retry scheduled in the future. It became due at its retry time,
    # or when it was written.
    due = Notification.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                              status=NotificationStatus.PENDING)
    g.outbox_backlog = await due.count()
    for channel in NotificationChannel:
        oldest_new = await due.filter(channel=channel, next_attempt_at__isnull=True) \
            .order_by("created_at").first().values_list("created_at", flat=True)
        oldest_retry = await due.filter(channel=channel, next_attempt_at__isnull=False) \
            .order_by("next_attempt_at").first().values_list("next_attempt_at", flat=True)
        stamps = [t for t in (_when(oldest_new), _when(oldest_retry)) if t is not None]
        g.queue_age[channel.value] = _seconds(now, min(stamps)) if stamps else 0.0

    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM log_leaf")
    g.log_entries = int(rows[0][0])
    latest = await LogCheckpoint.all().order_by("-tree_size", "-id").first().values("tree_size", "timestamp")
    if latest:
        g.log_unsigned = max(0, g.log_entries - int(latest["tree_size"]))
        g.checkpoint_age = _seconds(now, latest["timestamp"])
    else:
        g.log_unsigned = g.log_entries
        if g.log_entries:
            stamp = await LogLeaf.filter(leaf_index=0).first().values_list("created_at", flat=True)
            g.checkpoint_age = _seconds(now, _when(stamp))

    g.overdue = {kind: 0 for kind in OVERDUE_KINDS}
    yesterday = today - timedelta(days=1)
    g.overdue["publication"] = await Decision.filter(clocks.due_by("publication", yesterday)).count()
    g.overdue["withdrawal"] = await Decision.filter(clocks.due_by("withdrawal", yesterday)).count()
    g.overdue["review"] = await LegalReview.filter(status=ReviewStatus.SUBMITTED, due_on__lt=today).count()
    # The same rule as the supervisor's overdue view: an escalated complaint stays overdue until answered.
    g.overdue["complaint"] = await Complaint.filter(complaint_handling.overdue_q(today)).count()
    g.overdue["rectification"] = await Rectification.filter(rectifications.overdue_q(today)).count()
    g.overdue["register"] = await register_versions.overdue_count(today)
    g.overdue["statistics"] = await statistics.overdue_count(clock)
    return g
