"""The delivery job and its housekeepers: relay, sweeper, receipts.

The same functions run in arq workers (``backend.worker``) and in the server's in-process worker
(``backend.outbox``). A job takes a notification id, claims the row (PostgreSQL: ``SELECT … FOR
UPDATE SKIP LOCKED``; everywhere: a conditional ``UPDATE … WHERE status='pending'``), so a job run
twice -- redelivered by arq after a crash, relayed again by the sweeper -- sends at most once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend import metrics
from backend.models import Notification, SubscriptionGrant
from backend.models.enums import NotificationChannel, NotificationStatus
from notifications import receipts
from notifications.channels import Accepted
from notifications.deps import Deps
from notifications.fallback import fallback_for, write_fallback
from notifications.policy import (
    AmbiguousError,
    DeliveryError,
    NoConsentError,
    PermanentError,
    RetryableError,
    start_of_next_day,
)
from notifications.states import NOTIFICATION

log = logging.getLogger("yangguang.notifications")
N = NotificationStatus
MAX_BACKLOG = 40  # queued jobs above which the relay waits for the workers to catch up
AMBIGUOUS = "ambiguous"  # provider_status marker: ask the provider before sending again


def _log_extra(n: Notification) -> dict[str, Any]:
    return {"notification_id": n.id, "case_id": n.case_id, "agency_id": n.agency_id}


async def claim(deps: Deps, nid: uuid.UUID) -> Notification | None:
    """Take the row for this attempt, or None when it is not (or no longer) ours to send."""
    now = deps.clock.now()
    async with in_transaction():
        query = Notification.filter(id=nid, status=N.PENDING)
        if deps.is_postgres:
            query = query.select_for_update(skip_locked=True)
        row = await query.first()
        if row is None:
            return None
        if row.next_attempt_at is not None and row.next_attempt_at > now + timedelta(seconds=1):
            return None  # an early copy of a deferred job; the deferred one will come
        # The guard that holds everywhere, SQLite included: only one claimer sees status pending.
        target = NOTIFICATION.next(row.status, "claim")
        won = await Notification.filter(id=nid, status=N.PENDING).update(
            status=target, attempts=F("attempts") + 1, updated_at=now)
        if not won:
            return None
    row.status, row.attempts, row.updated_at = target, row.attempts + 1, now
    return row


async def _finish(deps: Deps, n: Notification, action: str, **changes: Any) -> bool:
    """Apply a transition from 'sending', only if nobody else moved the row meanwhile."""
    target = NOTIFICATION.next(N.SENDING, action)
    done = await Notification.filter(id=n.id, status=N.SENDING).update(
        status=target, updated_at=deps.clock.now(), **changes)
    if not done:
        log.warning("notification moved while we were sending it", extra=_log_extra(n))
    return bool(done)


async def _ensure_grant(deps: Deps, n: Notification) -> None:
    """Consume one one-time WeChat subscription grant for this message (or keep the one it holds)."""
    if await SubscriptionGrant.filter(consumed_by=n.id).exists():
        return
    for _ in range(5):
        grant = await SubscriptionGrant.filter(openid=n.recipient, template_id=n.template,
                                               consumed_at__isnull=True).order_by("id").first()
        if grant is None:
            break
        if await SubscriptionGrant.filter(id=grant.id, consumed_at__isnull=True).update(
                consumed_at=deps.clock.now(), consumed_by=n.id):
            return
    raise NoConsentError("no subscription grant for this template", code="no_grant")


async def _over_cap(deps: Deps, n: Notification) -> bool:
    """Whether this number already had the day's cap of this template; when it had, the row is
    deferred to tomorrow before the answer is given.

    Checks for one number and template run one at a time (an advisory lock on PostgreSQL; SQLite
    runs one transaction at a time) and count what is sent today plus every other row being sent
    right now. A row over the cap goes back to pending inside the same transaction, so the next
    check no longer counts it: of racing sends, exactly as many as the cap allows go out."""
    day_start = deps.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    async with in_transaction() as conn:
        if deps.is_postgres:
            await conn.execute_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                     [f"yg:cap:{n.recipient}:{n.template}"])
        busy = Q(status__in=[N.SENT, N.DELIVERED], sent_at__gte=day_start) | Q(status=N.SENDING)
        sent = await (Notification.filter(recipient=n.recipient, template=n.template).filter(busy)
                      .exclude(id=n.id).using_db(conn).count())
        if sent < deps.policy.daily_cap:
            return False
        due = start_of_next_day(deps.clock.now())
        # Not an attempt: the claim's count is given back.
        await Notification.filter(id=n.id, status=N.SENDING).using_db(conn).update(
            status=NOTIFICATION.next(N.SENDING, "defer"), attempts=F("attempts") - 1, next_attempt_at=due,
            relayed_at=due, last_error="daily cap per recipient reached", updated_at=deps.clock.now())
    return True


async def deliver(deps: Deps, nid: uuid.UUID) -> str:
    """One delivery attempt. Returns what happened (for logs and tests)."""
    n = await claim(deps, nid)
    if n is None:
        return "skipped"
    return await attempt(deps, n)


async def claim_many(deps: Deps, ids: list[uuid.UUID], marker: str | None = None) -> list[Notification]:
    """Claim a batch in one statement (PostgreSQL: the rows it returns are exactly ours).

    ``marker`` (``batch:<id>``) is written in the same statement as ``provider_id`` of every claimed
    SMS row that is not ambiguous (an ambiguous row keeps the marker its lookup needs): the batch id
    is then on the rows before any SendBatchSms carrying it, without an UPDATE of its own."""
    if not deps.is_postgres:
        return [n for n in [await claim(deps, nid) for nid in ids] if n is not None]
    now = deps.clock.now()
    # One statement, one round trip, one write per row (was BEGIN, SELECT … FOR UPDATE, UPDATE,
    # COMMIT; then a FOR UPDATE SKIP LOCKED sub-select, which wrote a lock into every row before
    # updating it): move the pending, due rows to 'sending' and return them (a CTE, so the driver
    # fetches its rows). ``status = 'pending'`` is ``claim``'s guard: a second claimer of a row
    # waits for the first one's statement, then finds the row 'sending' and leaves it (PostgreSQL
    # re-checks the condition on the row's new version).
    sql = CLAIM_MANY_SQL.format(
        table=Notification._meta.db_table,
        columns=", ".join(f'"{c}"' for c in Notification._meta.fields_db_projection.values()))
    conn = Notification._meta.db
    _, records = await conn.execute_query(
        sql, [NOTIFICATION.next(N.PENDING, "claim").value, now, ids, N.PENDING.value, now + timedelta(seconds=1),
              marker, NotificationChannel.SMS.value, AMBIGUOUS])
    return [Notification._init_from_db(**dict(r)) for r in records]


CLAIM_MANY_SQL = """
WITH claimed AS (
UPDATE "{table}" SET "status" = $1, "attempts" = "attempts" + 1, "updated_at" = $2,
    "provider_id" = CASE WHEN $6::text IS NOT NULL AND "channel" = $7 AND "provider_status" <> $8 THEN $6::text
                         ELSE "provider_id" END
WHERE "id" = ANY($3::uuid[]) AND "status" = $4 AND ("next_attempt_at" IS NULL OR "next_attempt_at" <= $5)
RETURNING {columns})
SELECT * FROM claimed"""

# The daily cap of many rows: one count per number and template, each an index lookup on
# (recipient, template, sent_at). (An IN-list query let the planner scan the status index instead,
# every sent row, when a burst arrives before the table's statistics: ~80 ms a batch, half of
# PostgreSQL's time in the throughput bench.)
CAP_MANY_SQL = """
SELECT r.recipient, t.template FROM unnest($1::text[]) AS r(recipient) CROSS JOIN unnest($2::text[]) AS t(template)
WHERE (SELECT count(*) FROM "{table}" x WHERE x.recipient = r.recipient AND x.template = t.template
       AND x.sent_at >= $3 AND x.status = ANY($4::text[])) >= $5"""


async def deliver_batch(deps: Deps, ids: list[uuid.UUID]) -> dict[str, int]:
    """The relay's hand-over: many rows per job, so a backlog costs one claim, not one per row."""
    sem = deps.extra.get("sem")
    if sem is None:
        sem = deps.extra["sem"] = asyncio.Semaphore(deps.settings.notify_concurrency)

    async def bounded(n: Notification) -> str:
        async with sem:  # SDK threads and database connections are finite
            return await attempt(deps, n)

    channel = deps.channels[NotificationChannel.SMS]
    batching = getattr(channel, "send_batch", None) is not None
    # One batch id per job: every SendBatchSms of this job carries it as OutId. Their numbers are
    # disjoint (a number with two rows in the job goes one by one), so a lookup by number and
    # OutId still finds exactly its own message.
    batch_id = str(uuid.uuid4())
    rows = await claim_many(deps, ids, "batch:" + batch_id if batching else None)
    jobs: list[Coroutine[Any, Any, str | list[str]]] = []
    singles = rows
    if batching:
        batchable = [n for n in rows if n.channel is NotificationChannel.SMS and n.provider_status != AMBIGUOUS]
        capped = await _over_cap_many(deps, batchable)
        batchable = [n for n in batchable if n.id not in capped]
        in_batch = {n.id for n in batchable}  # by id: Model.__eq__ made this quadratic (100² per job)
        singles = [n for n in rows if n.id not in in_batch]
        by_template: dict[str, list[Notification]] = {}
        for n in batchable:
            by_template.setdefault(n.template, []).append(n)
        for group in by_template.values():
            for start in range(0, len(group), 100):
                jobs.append(_send_sms_batch(deps, channel, group[start:start + 100], bounded, batch_id))
    jobs.extend(bounded(n) for n in singles)
    outcomes: list[str] = []
    for result in await asyncio.gather(*jobs):
        outcomes.extend(result if isinstance(result, list) else [result])
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    counts["skipped"] = len(ids) - len(outcomes)
    return counts


async def _over_cap_many(deps: Deps, rows: list[Notification]) -> set[uuid.UUID]:
    """The rows whose recipient already had the day's cap of this template (one query)."""
    if not rows:
        return set()
    day_start = deps.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    recipients, templates = list({n.recipient for n in rows}), list({n.template for n in rows})
    full: set[tuple[str, str]]
    if deps.is_postgres:
        conn = Notification._meta.db
        found = await conn.execute_query_dict(CAP_MANY_SQL.format(table=Notification._meta.db_table), [
            recipients, templates, day_start, [N.SENT.value, N.DELIVERED.value], deps.policy.daily_cap])
        full = {(r["recipient"], r["template"]) for r in found}
    else:
        sent = await (Notification.filter(recipient__in=recipients, sent_at__gte=day_start, template__in=templates,
                                          status__in=[N.SENT, N.DELIVERED])
                      .annotate(c=Count("id")).group_by("recipient", "template").values("recipient", "template", "c"))
        full = {(r["recipient"], r["template"]) for r in sent if r["c"] >= deps.policy.daily_cap}
    # Several rows for one number in one batch: let them go one by one, through the exact check.
    seen: dict[str, int] = {}
    for n in rows:
        seen[n.recipient] = seen.get(n.recipient, 0) + 1
    return {n.id for n in rows if (n.recipient, n.template) in full or seen[n.recipient] > 1}


async def _send_sms_batch(deps: Deps, channel: Any, rows: list[Notification], one: Any, batch_id: str) -> list[str]:
    """Claimed SMS rows with one template, in one SendBatchSms. Any failure but a clean retryable
    one sends them one by one instead, so one bad number cannot sink its neighbours."""
    ids = [n.id for n in rows]
    marker = "batch:" + batch_id
    # Written before the call: after a crash the sweeper's next attempt looks the batch up. On
    # PostgreSQL the claim wrote it already; the one-row-at-a-time claim (SQLite) did not.
    if any(n.provider_id != marker for n in rows):
        await Notification.filter(id__in=ids, status=N.SENDING).update(provider_id=marker)
        for n in rows:
            n.provider_id = marker
    try:
        accepted = await channel.send_batch(rows, batch_id)
    except AmbiguousError as exc:
        outcomes = list(await asyncio.gather(*(_retry_later(deps, n, exc, ambiguous=True) for n in rows)))
    except RetryableError as exc:
        outcomes = list(await asyncio.gather(*(_retry_later(deps, n, exc, ambiguous=False) for n in rows)))
    except PermanentError:
        return list(await asyncio.gather(*(one(n) for n in rows)))  # each attempt counts itself
    else:
        now = deps.clock.now()
        await Notification.filter(id__in=ids, status=N.SENDING).update(
            status=NOTIFICATION.next(N.SENDING, "accepted"), provider_id=accepted.provider_id[:100],
            provider_status=accepted.provider_status[:100], sent_at=now, updated_at=now, last_error="")
        outcomes = ["sent"] * len(rows)
    metrics.count_attempts(NotificationChannel.SMS, outcomes)
    return outcomes


async def attempt(deps: Deps, n: Notification) -> str:
    """Send a claimed row and record the outcome (and count it: ``yangguang_notification_attempts``)."""
    outcome = await _attempt(deps, n)
    metrics.count_attempts(n.channel, (outcome,))
    return outcome


async def _attempt(deps: Deps, n: Notification) -> str:
    channel = deps.channels[n.channel]
    was_ambiguous = n.provider_status == AMBIGUOUS
    resolved = not was_ambiguous
    try:
        if n.channel is NotificationChannel.WECHAT:  # the sandbox honours consent like WeChat does
            await _ensure_grant(deps, n)
        if n.channel is NotificationChannel.SMS and await _over_cap(deps, n):
            return "capped"  # deferred to tomorrow
        accepted: Accepted | None = None
        if was_ambiguous:
            accepted = await channel.lookup(n)  # the earlier attempt may have gone through
            resolved = True
        if accepted is None:
            accepted = await channel.send(n)
    except PermanentError as exc:
        return await _fail_or_fall_back(deps, n, exc)
    except RetryableError as exc:
        return await _retry_later(deps, n, exc, ambiguous=isinstance(exc, AmbiguousError) or not resolved)
    except Exception as exc:  # a bug or the database: keep the message, try again later
        log.exception("unexpected error delivering a notification", extra=_log_extra(n))
        return await _retry_later(deps, n, RetryableError(type(exc).__name__, code="internal"),
                                  ambiguous=True)
    now = deps.clock.now()
    await _finish(deps, n, "delivered" if accepted.delivered else "accepted",
                  provider_id=accepted.provider_id[:100], provider_status=accepted.provider_status[:100],
                  sent_at=now, delivered_at=now if accepted.delivered else None, last_error="")
    log.info("notification accepted by %s after %d attempt(s)", n.channel.value, n.attempts, extra=_log_extra(n))
    return "sent"


async def _retry_later(deps: Deps, n: Notification, exc: RetryableError, *, ambiguous: bool) -> str:
    delay = deps.policy.next_delay(n.attempts)
    if delay is None:
        return await _fail_or_fall_back(deps, n, exc)
    due = deps.clock.now() + timedelta(seconds=delay)
    # relayed_at = due: the relay re-sends it only if nobody has claimed it a while after it is due.
    if await _finish(deps, n, "retry", next_attempt_at=due, relayed_at=due, last_error=exc.detail[:500],
                     provider_status=AMBIGUOUS if ambiguous else (exc.code or "retry")[:100]):
        log.info("notification attempt %d failed (%s); next in %.1fs", n.attempts, exc.code, delay,
                 extra=_log_extra(n))
        await _dispatch_quietly(deps, [(n.id, n.attempts)], delay)
    return "retry"


async def _fail_or_fall_back(deps: Deps, n: Notification, exc: DeliveryError) -> str:
    fb = await fallback_for(deps.policy, n)
    if fb is None:
        await _finish(deps, n, "fail", last_error=exc.detail[:500], provider_status=(exc.code or "failed")[:100])
        log.warning("notification failed for good (%s)", exc.code, extra=_log_extra(n))
        return "failed"
    async with in_transaction():
        if not await _finish(deps, n, "fall_back", last_error=exc.detail[:500],
                             provider_status=(exc.code or "fallback")[:100]):
            return "skipped"
        new_id = await write_fallback(n, fb, deps.clock.now())
    log.info("notification falls back from %s to %s (%s)", n.channel.value, fb.channel.value, exc.code,
             extra=_log_extra(n))
    if new_id is not None:
        await _dispatch_quietly(deps, [(new_id, 0)], 0)
    return "fallback"


async def _dispatch_quietly(deps: Deps, rows: list[tuple[uuid.UUID, int]], delay: float, tag: str = "") -> None:
    try:
        await deps.dispatch(rows, delay, tag)
    except Exception as exc:  # the queue is down: the relay hands the rows over later
        log.warning("could not hand notifications to the queue (%s); the relay will", type(exc).__name__)
        await Notification.filter(id__in=[r[0] for r in rows], status=N.PENDING).update(relayed_at=None)


async def relay(deps: Deps, limit: int = 1000, rounds: int = 10) -> int:
    """Hand committed, due, unclaimed rows to the workers, ``limit`` at a time until none are left
    (at most ``rounds`` times per call). Returns how many."""
    backlog = deps.extra.get("backlog")
    if backlog is not None and await backlog() > MAX_BACKLOG:
        return 0  # backpressure: the rows wait in the database, not in Redis
    total = 0
    for _ in range(rounds):
        n = await _relay_once(deps, limit)
        total += n
        if n < limit:
            break
    return total


async def _relay_once(deps: Deps, limit: int) -> int:
    now = deps.clock.now()
    stale = now - timedelta(seconds=deps.settings.notify_requeue_after)
    async with in_transaction():
        query = (Notification.filter(status=N.PENDING)
                 .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                 .filter(Q(relayed_at__isnull=True) | Q(relayed_at__lt=stale))
                 .order_by("created_at").limit(limit))
        if deps.is_postgres:
            query = query.select_for_update(skip_locked=True)  # two relays never take the same rows
        rows = [(r.id, r.attempts) for r in await query.only("id", "attempts")]
        if rows:
            await Notification.filter(id__in=[r[0] for r in rows]).update(relayed_at=now)
    if rows:
        await _dispatch_quietly(deps, rows, 0, tag=f"r{int(now.timestamp() * 1000)}")
    return len(rows)


async def sweep(deps: Deps) -> int:
    """Rows left 'sending' by a dead worker go back to pending, marked ambiguous: the provider may
    have accepted them, so the next attempt asks before it sends."""
    now = deps.clock.now()
    cutoff = now - timedelta(seconds=deps.settings.notify_stuck_after)
    count = await Notification.filter(status=N.SENDING, updated_at__lt=cutoff).update(
        status=NOTIFICATION.next(N.SENDING, "retry"), provider_status=AMBIGUOUS, relayed_at=None,
        next_attempt_at=None, updated_at=now, last_error="worker lost during the attempt")
    if count:
        log.warning("sweeper rescued %d notification(s) from dead workers", count)
    return count


async def poll_receipts(deps: Deps, limit: int = 200) -> int:
    """Ask the SMS provider what became of accepted messages (R-N3)."""
    channel = deps.channels[NotificationChannel.SMS]
    if channel.sandbox:
        return 0
    now = deps.clock.now()
    rows = await (Notification.filter(status=N.SENT, channel=NotificationChannel.SMS,
                                      sent_at__lt=now - timedelta(seconds=5), sent_at__gte=now - timedelta(days=3),
                                      updated_at__lt=now - timedelta(seconds=5))
                  .order_by("updated_at").limit(limit))
    if not rows:
        return 0
    await Notification.filter(id__in=[r.id for r in rows]).update(updated_at=now)
    done = 0
    for receipt in await channel.receipts(rows):
        if receipt.provider_status == "waiting":
            continue
        async with in_transaction():
            done += await receipts.record(receipt, now)
    return done


# arq job functions: ctx["deps"] is built in the worker's startup hook.
async def send_notification(ctx: dict[str, Any], notification_id: str) -> str:
    return await deliver(ctx["deps"], uuid.UUID(notification_id))


async def send_batch(ctx: dict[str, Any], notification_ids: list[str]) -> dict[str, int]:
    return await deliver_batch(ctx["deps"], [uuid.UUID(i) for i in notification_ids])

