"""Periodic jobs in one table: what runs and how often.

Both runners read this table: the arq worker turns each row into a cron job (``arq_cron_jobs``),
and the embedded server (no Redis) runs each row in a loop of its own (``EmbeddedScheduler``).
Adding a deadline clock later is one row here, and both runners get it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from arq import cron
from arq.cron import CronJob

from backend.services import calendar, decisions, wechat_push
from backend.services.complaints import handling as complaints
from backend.services.complaints import intake, photos
from backend.services.disclosure import credentials as lifecycle
from backend.services.disclosure.verification import VerifyCache
from backend.services.parties import bindings
from backend.services.supervision import rectifications
from backend.services.transparency import checkpoints
from notifications import tasks
from notifications.deps import Deps

log = logging.getLogger("yangguang.periodic")


@dataclass(frozen=True)
class JobContext:
    deps: Deps  # clock, settings, channels and how to hand notification rows over
    cache: VerifyCache  # the scan cache to invalidate when a job changes a credential


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[JobContext], Awaitable[object]]
    every: int  # seconds; divides a minute below 60, an hour up to 3600 (cron needs a fixed grid)
    offset: int = 0  # seconds into each period, so jobs of one cadence do not start together
    at_startup: bool = False
    notifications: bool = False  # needs a notification worker (the embedded one may be switched off)


async def _relay(ctx: JobContext) -> int:
    return await tasks.relay(ctx.deps)


async def _sweep(ctx: JobContext) -> int:
    return await tasks.sweep(ctx.deps)


async def _receipts(ctx: JobContext) -> int:
    return await tasks.poll_receipts(ctx.deps)


async def _forget_push_nonces(ctx: JobContext) -> int:
    return await wechat_push.forget_nonces(ctx.deps.clock)


async def _expire_credentials(ctx: JobContext) -> int:
    # Reads already show expiry; this persists it (and audits it) for lists and statistics.
    return await lifecycle.expire_due(ctx.deps.clock, ctx.cache)


async def _escalate_complaints(ctx: JobContext) -> int:
    # Complaints past their acknowledge or answer limit go to the supervisor; the complainant's SMS
    # rows are handed over like any event's.
    count, ids = await complaints.escalate_overdue(ctx.deps.settings, ctx.deps.clock)
    if ids:
        await ctx.deps.dispatch([(i, 0) for i in ids], 0, "")
    return count


async def _escalate_rectifications(ctx: JobContext) -> int:
    # Orders to rectify unanswered past their date go to the government level (R-X3), once.
    return await rectifications.escalate_overdue(ctx.deps.clock)


async def _checkpoint(ctx: JobContext) -> int | None:
    # A signed checkpoint of the transparency log whenever leaves arrived since the last one.
    return await checkpoints.checkpoint_if_grown(ctx.deps.settings, ctx.deps.clock)


async def _end_publications(ctx: JobContext) -> int:
    # Publication periods end by themselves at their type's maximum (a new version, never a delete).
    return await decisions.end_due_publications(ctx.deps.settings, ctx.deps.clock)


async def _delete_unclaimed_uploads(ctx: JobContext) -> int:
    # Photos no complaint claimed within a day can never be claimed: their rows and files go.
    return await photos.delete_unclaimed(ctx.deps.settings.data_dir, ctx.deps.clock)


async def _scrub_sms_codes(ctx: JobContext) -> int:
    # Spent or expired verification codes are blanked, and their phones deleted once no limit counts them.
    return await intake.scrub_phone_codes(ctx.deps.clock) + await bindings.scrub_sms_codes(ctx.deps.clock)


CALENDAR_WARNING_HOUR = 9  # once a day, in office hours, where the operator's log alerts are read


async def _calendar_coverage(ctx: JobContext) -> str | None:
    # Each December while next year's State Council schedule is not loaded (and whenever the
    # current year's is missing): a WARNING the operator's log alerts pick up, once a day. The
    # supervisor sees the same text on every overdue view (calendar_warning).
    if ctx.deps.clock.now().hour != CALENDAR_WARNING_HOUR:
        return None
    warning = (await calendar.current()).missing_year_warning(ctx.deps.clock.today())
    if warning is not None:
        log.warning("calendar_year_missing: %s", warning)
    return warning


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    # Committed pending notification rows -> workers (after a lost hand-over or Redis outage).
    PeriodicJob("relay", _relay, every=1, at_startup=True, notifications=True),
    # Rows claimed by a worker that died go back to pending, marked ambiguous.
    PeriodicJob("sweep", _sweep, every=5, notifications=True),
    # Delivery receipts (Aliyun QuerySendDetails).
    PeriodicJob("receipts", _receipts, every=30, offset=7, notifications=True),
    # WeChat's delivery push: nonces out of the 5-minute window are refused as stale anyway.
    PeriodicJob("forget_push_nonces", _forget_push_nonces, every=600, offset=230),
    PeriodicJob("expire_credentials", _expire_credentials, every=1800, offset=300, at_startup=True),
    # Complaints past a limit (R-X2): limits are in working days, so every half hour is prompt enough.
    PeriodicJob("escalate_complaints", _escalate_complaints, every=1800, offset=420, at_startup=True),
    # Rectification dates are calendar dates: every half hour is prompt enough.
    PeriodicJob("escalate_rectifications", _escalate_rectifications, every=1800, offset=480, at_startup=True),
    # Transparency log: at least once a minute while entries arrive (twice, so a slow run never skips one).
    PeriodicJob("log_checkpoint", _checkpoint, every=30, offset=11, at_startup=True),
    PeriodicJob("end_publications", _end_publications, every=1800, offset=600, at_startup=True),
    PeriodicJob("delete_unclaimed_uploads", _delete_unclaimed_uploads, every=3600, offset=1260, at_startup=True),
    # Codes live 5-10 minutes: every 5 minutes, none lingers long after it stopped working.
    PeriodicJob("scrub_sms_codes", _scrub_sms_codes, every=300, offset=170, at_startup=True),
    # Hourly; it speaks only in the 9 o'clock hour, so once a day.
    PeriodicJob("calendar_coverage", _calendar_coverage, every=3600, offset=900, at_startup=True),
)


def cron_fields(job: PeriodicJob) -> dict[str, set[int]]:
    """The arq cron fields for a row: the seconds (or minutes) of the hour at which it fires."""
    if job.every < 60 and 60 % job.every == 0:
        return {"second": {(job.offset + k * job.every) % 60 for k in range(60 // job.every)}}
    if job.every <= 3600 and job.every % 60 == 0 and 3600 % job.every == 0:
        return {"minute": {(job.offset + k * job.every) // 60 % 60 for k in range(3600 // job.every)},
                "second": {job.offset % 60}}
    raise ValueError(f"periodic job {job.name}: every={job.every}s does not fit a cron grid")


def arq_cron_jobs(jobs: Iterable[PeriodicJob], timeout: float) -> list[CronJob]:
    """One arq cron per row; the worker's ctx holds ``deps`` and ``redis``."""
    out: list[CronJob] = []
    for job in jobs:
        async def run(ctx: dict[str, Any], job: PeriodicJob = job) -> object:
            return await job.run(JobContext(deps=ctx["deps"], cache=VerifyCache(ctx["redis"])))

        run.__qualname__ = run.__name__ = f"periodic_{job.name}"
        out.append(cron(run, name=job.name, run_at_startup=job.at_startup, timeout=timeout,
                        **cron_fields(job)))  # type: ignore[arg-type]
    return out


class EmbeddedScheduler:
    """The embedded default's runner: each row in a loop of its own, in the server process.

    ``scale`` shortens every period (tests run an hour's schedule in a fraction of a second).
    Stopping lets a running job finish (a cancelled query can leave its pooled connection
    unreleased, and closing the pool would then wait for it forever).
    """

    def __init__(self, jobs: Iterable[PeriodicJob], ctx: JobContext, scale: float = 1.0) -> None:
        self.jobs = tuple(jobs)
        self.ctx = ctx
        self.scale = scale
        self.runs: dict[str, int] = {job.name: 0 for job in self.jobs}
        self.tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def _pause(self, seconds: float) -> bool:
        """Sleep; False when asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    async def _loop(self, job: PeriodicJob) -> None:
        if not job.at_startup and not await self._pause((job.offset or job.every) * self.scale):
            return
        while not self._stopping.is_set():
            try:
                await job.run(self.ctx)
            except Exception as exc:  # the next round tries again; the database holds the truth
                log.warning("periodic job %s failed: %s", job.name, type(exc).__name__)
            self.runs[job.name] += 1
            if not await self._pause(job.every * self.scale):
                return

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(job), name=f"periodic-{job.name}") for job in self.jobs]

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping.set()
        if not self.tasks:
            return
        _, late = await asyncio.wait(self.tasks, timeout=grace)
        for task in late:  # a job stuck past the grace period (a dead database): give up on it
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

