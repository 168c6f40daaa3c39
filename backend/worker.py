"""`yangguang worker`: an arq worker running notification jobs and the outbox housekeeping crons.

- ``send_notification(id)``: one delivery attempt (``notifications.tasks.deliver``); ``keep_result=0``
  so the same job id can be enqueued again once a run has finished (arq refuses an id while its job
  *or result* key exists).
- crons: every row of ``backend.periodic.PERIODIC_JOBS`` (relay, sweep, receipts, credential expiry),
  the same table the embedded server runs.

The database is the truth and Redis may lose anything: when Redis goes away the worker keeps
reconnecting, and the relay re-creates whatever jobs were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from typing import Any

from arq import func
from arq.connections import RedisSettings
from arq.worker import Worker

from backend.db import init_orm
from backend.eventloop import run_loop
from backend.outbox import BATCH_JOB, JOB, ArqOutbox
from backend.periodic import PERIODIC_JOBS, arq_cron_jobs
from backend.settings import Settings
from notifications import tasks
from notifications.deps import Deps, build_deps

log = logging.getLogger("yangguang.worker")


def worker_kwargs(settings: Settings) -> dict[str, Any]:
    assert settings.redis_url, "the arq worker needs YANGGUANG_REDIS_URL"
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    redis_settings.conn_retries = 1
    redis_settings.conn_timeout = 2
    job_timeout = settings.notify_job_timeout
    return dict(
        functions=[func(tasks.send_notification, name=JOB, keep_result=0, max_tries=100,
                        timeout=settings.notify_job_timeout),
                   # A batch waits its turn for the process's SDK threads: give it longer.
                   func(tasks.send_batch, name=BATCH_JOB, keep_result=0, max_tries=100,
                        timeout=settings.notify_job_timeout * 3)],
        # Cron timeouts stay within the job timeout: arq keeps a dead worker's jobs "in progress"
        # for the largest timeout of all functions + 10 s before another worker may take them.
        cron_jobs=arq_cron_jobs(PERIODIC_JOBS, timeout=job_timeout),
        redis_settings=redis_settings,
        max_jobs=settings.notify_concurrency,
        job_timeout=settings.notify_job_timeout,
        keep_result=0,
        # A poll re-checks every queued job, running ones included (three Redis round trips each):
        # at 0.05 s that was 12-17 % of a worker's CPU during a backlog. A new job waits at most this long.
        poll_delay=0.2,
        handle_signals=False,
        on_startup=_on_startup,
    )


async def _on_startup(ctx: dict[str, Any]) -> None:
    base: Deps = ctx["base_deps"]
    # Retries and fallbacks go straight back onto this worker's Redis connection.
    redis = ctx["redis"]

    async def backlog() -> int:
        return int(await redis.zcard(redis.default_queue_name))

    ctx["deps"] = dataclasses.replace(base, dispatch=ArqOutbox(redis).dispatch,
                                      extra={**base.extra, "backlog": backlog})


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    orm = await init_orm(settings)
    base = build_deps(settings)
    try:
        while not stop.is_set():
            worker = Worker(**worker_kwargs(settings), ctx={"base_deps": base})
            main = asyncio.create_task(worker.main())
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if main in done and not main.cancelled() and main.exception() is not None:
                log.warning("worker lost Redis (%s); reconnecting", type(main.exception()).__name__)
            # Stop taking jobs; let running attempts finish (bounded by the job timeout).
            worker.allow_pick_jobs = False
            running = [t for t in worker.tasks.values() if not t.done()]
            if running:
                await asyncio.wait(running, timeout=settings.notify_job_timeout)
            main.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(worker.close(), 5)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        if base.executor is not None:
            base.executor.shutdown(wait=False, cancel_futures=True)
        await orm.close_connections()


def run_worker(settings: Settings) -> None:
    log.info("notification worker starting (concurrency %d)", settings.notify_concurrency)
    run_loop(serve(settings), uvloop=settings.uvloop)
