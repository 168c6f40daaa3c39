"""One table of periodic jobs, read by the arq worker and by the embedded server."""

from __future__ import annotations

import asyncio

import pytest

from backend.app_keys import SCHEDULER
from backend.periodic import PERIODIC_JOBS, EmbeddedScheduler, PeriodicJob, cron_fields
from backend.worker import worker_kwargs
from tests.conftest import make_settings


def test_the_arq_worker_runs_every_row_of_the_table_on_its_cadence(tmp_path):
    settings = make_settings("sqlite://:memory:", tmp_path, redis_url="redis://127.0.0.1:1/0")
    crons = {c.name: c for c in worker_kwargs(settings)["cron_jobs"]}
    assert set(crons) == {job.name for job in PERIODIC_JOBS}
    assert crons["relay"].second == set(range(60)) and crons["relay"].run_at_startup
    assert crons["sweep"].second == set(range(0, 60, 5))
    assert crons["receipts"].second == {7, 37}
    assert (crons["expire_credentials"].minute, crons["expire_credentials"].second) == ({5, 35}, {0})
    assert crons["log_checkpoint"].second == {11, 41} and crons["log_checkpoint"].run_at_startup


def test_a_cadence_off_the_cron_grid_is_refused():
    async def nothing(ctx: object) -> None:
        return None

    with pytest.raises(ValueError, match="cron grid"):
        cron_fields(PeriodicJob("odd", nothing, every=7))
    assert cron_fields(PeriodicJob("hourly", nothing, every=3600 // 4, offset=60)) == {
        "minute": {1, 16, 31, 46}, "second": {0}}


async def test_the_embedded_server_runs_every_row_of_the_table(client):
    scheduler = client.app[SCHEDULER]
    assert [job.name for job in scheduler.jobs] == [job.name for job in PERIODIC_JOBS]
    for _ in range(100):  # rows marked at_startup run as soon as the server is up
        if all(scheduler.runs[j.name] for j in PERIODIC_JOBS if j.at_startup):
            break
        await asyncio.sleep(0.02)
    assert all(scheduler.runs[j.name] >= 1 for j in PERIODIC_JOBS if j.at_startup)


async def test_a_failing_job_does_not_stop_its_loop(client):
    calls = []

    async def flaky(ctx: object) -> None:
        calls.append(1)
        raise RuntimeError("database away")

    scheduler = EmbeddedScheduler([PeriodicJob("flaky", flaky, every=1, at_startup=True)],
                                  client.app[SCHEDULER].ctx, scale=0.01)
    scheduler.start()
    try:
        for _ in range(100):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
    assert len(calls) >= 3


async def test_the_checkpoint_job_signs_the_log_when_entries_arrived(client):
    from backend.app_keys import CLOCK, SETTINGS
    from backend.services.transparency import checkpoints, log

    job = next(j for j in PERIODIC_JOBS if j.name == "log_checkpoint")
    scheduler = client.app[SCHEDULER]
    for _ in range(200):  # its start-up run first (the next is 30 s away), so the two never race
        if scheduler.runs["log_checkpoint"]:
            break
        await asyncio.sleep(0.02)
    ctx = scheduler.ctx
    assert await job.run(ctx) is None  # an empty log: nothing to sign
    await log.append("evidence", {"n": 1}, agency_id=None, ref="1")
    assert await job.run(ctx) == 1
    assert await job.run(ctx) is None  # nothing new
    assert (await checkpoints.latest()).tree_size == 1  # type: ignore[union-attr]
    assert client.app[SETTINGS] is ctx.deps.settings and client.app[CLOCK] is ctx.deps.clock
