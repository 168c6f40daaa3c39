"""The transactional outbox, seen from the server: hand committed notification rows to a worker.

Notification rows are written in the transaction of their event (``services.decisions``,
``services.cases.send_notice``). After the commit, the handler calls ``Outbox.dispatch`` with the new ids:

- with ``YANGGUANG_REDIS_URL``: each id becomes an arq job (``_job_id`` carries the id and attempt
  number, so arq drops copies). If Redis is down the publication still succeeds; the rows stay
  pending and a worker's relay cron hands them over once Redis is back.
- without it (the embedded default): an in-process worker runs the same job functions, with the
  same relay/sweeper/receipt loops, and sandbox channels unless providers are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from backend.models import Notification
from backend.models.enums import NotificationStatus
from backend.settings import Settings
from notifications import tasks
from notifications.deps import Deps, build_deps

if TYPE_CHECKING:  # the server's side only: `yangguang worker` imports this module without aiohttp
    from aiohttp import web

log = logging.getLogger("yangguang.outbox")
JOB = "send_notification"
BATCH_JOB = "send_batch"
BATCH = 100  # rows per batch job when the relay hands over a backlog (one SendBatchSms takes 100)
ENQUEUE_TIMEOUT = 2.0  # seconds: a slow Redis must not hold up the agency's request


def job_id(nid: uuid.UUID, attempts: int, tag: str = "") -> str:
    """The notification id, the attempt, and for relay hand-overs a tag: arq refuses an id while a
    job with it exists, and a job held by a killed worker stays "in progress" for its timeout + 10 s.
    A fresh tag lets the relay hand a row over again; the claim makes the extra copy harmless."""
    return f"yg:n:{nid}:{attempts}" + (f":{tag}" if tag else "")


class ArqOutbox:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def dispatch(self, rows: list[tuple[uuid.UUID, int]], delay: float = 0, tag: str = "") -> None:
        async def one(nid: uuid.UUID, attempts: int) -> None:
            await self.redis.enqueue_job(JOB, str(nid), _job_id=job_id(nid, attempts, tag),
                                         _defer_by=delay if delay > 0 else None)

        async def batch(chunk: list[tuple[uuid.UUID, int]]) -> None:
            await self.redis.enqueue_job(BATCH_JOB, [str(n) for n, _ in chunk],
                                         _job_id=f"yg:b:{chunk[0][0]}:{chunk[0][1]}:{tag}")

        if tag and len(rows) > 1:
            # A relay hand-over (a backlog after an outage, a burst): one job per BATCH rows.
            chunks = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
            for start in range(0, len(chunks), 20):
                group = chunks[start:start + 20]
                await asyncio.wait_for(asyncio.gather(*(batch(c) for c in group)), ENQUEUE_TIMEOUT + len(group) * 0.05)
            return
        for start in range(0, len(rows), 50):
            chunk = rows[start:start + 50]
            await asyncio.wait_for(asyncio.gather(*(one(n, a) for n, a in chunk)),
                                   ENQUEUE_TIMEOUT + len(chunk) * 0.01)


class LocalWorker:
    """The embedded worker: a queue of ids and a few consumers (its housekeeping is backend.periodic)."""

    def __init__(self, deps: Deps, concurrency: int = 4) -> None:
        self.deps = deps
        self.queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        self.concurrency = concurrency
        self.tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[Any]] = set()
        self._stopping = False
        deps.dispatch = self.dispatch

    async def dispatch(self, rows: list[tuple[uuid.UUID, int]], delay: float = 0, tag: str = "") -> None:
        loop = asyncio.get_running_loop()
        for nid, _ in rows:
            if delay > 0:
                loop.call_later(delay, self.queue.put_nowait, nid)
            else:
                self.queue.put_nowait(nid)

    async def _consume(self) -> None:
        while True:
            nid = await self.queue.get()
            task = asyncio.current_task()
            assert task is not None
            self._busy.add(task)
            try:
                await asyncio.wait_for(tasks.deliver(self.deps, nid), self.deps.settings.notify_job_timeout)
            except Exception:  # the sweeper rescues the row; the worker keeps going
                log.exception("in-process delivery failed", extra={"notification_id": nid})
            finally:
                self._busy.discard(task)
            if self._stopping:
                return

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._consume()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        """Idle consumers stop at once; a delivery under way gets a few seconds to finish: cancelled
        mid-query it could keep a pooled connection, and closing the pool would wait for it. A longer
        one is cancelled; its row is found by the sweeper and asked about before any resend."""
        self._stopping = True
        for task in self.tasks:
            if task not in self._busy:
                task.cancel()
        _, late = await asyncio.wait(self.tasks, timeout=5)
        for task in late:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.deps.executor is not None:
            self.deps.executor.shutdown(wait=False, cancel_futures=True)

    async def drain(self, seconds: float = 10.0) -> None:
        """Tests: wait until nothing is pending or sending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            busy = await Notification.filter(
                status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]).exists()
            if not busy and self.queue.empty():
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("notifications still pending")


class Outbox:
    """What handlers call after commit. Never raises: the database already holds the truth."""

    def __init__(self, settings: Settings, redis: Any = None, local: LocalWorker | None = None) -> None:
        self.settings = settings
        self.arq = ArqOutbox(redis) if redis is not None else None
        self.local = local

    async def dispatch(self, ids: list[uuid.UUID]) -> None:
        if not ids:
            return
        rows = [(nid, 0) for nid in ids]
        try:
            if self.arq is not None:
                await self.arq.dispatch(rows)
            elif self.local is not None:
                await self.local.dispatch(rows)
        except Exception as exc:
            log.warning("queue unavailable (%s); %d notification(s) wait for the relay",
                        type(exc).__name__, len(ids))
            await Notification.filter(id__in=ids, status=NotificationStatus.PENDING).update(relayed_at=None)


def get_outbox(app: web.Application) -> Outbox:
    from backend.app_keys import OUTBOX

    return app[OUTBOX]


async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: after the ORM and Redis contexts. Starts the in-process worker when there is no Redis."""
    from backend.app_keys import CLOCK, OUTBOX, REDIS, SETTINGS

    settings = app[SETTINGS]
    local: LocalWorker | None = None
    if app[REDIS] is None and settings.notify_embedded_worker:
        local = LocalWorker(build_deps(settings, app[CLOCK]), concurrency=min(8, settings.notify_concurrency))
        local.start()
    app[OUTBOX] = Outbox(settings, app[REDIS], local)
    yield
    if local is not None:
        await local.stop()
