"""With PostgreSQL and Redis, the `yangguang worker` cron persists credential expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from backend.clock import Clock
from backend.db import orm
from backend.models import Credential
from backend.services.disclosure import credentials
from backend.services.disclosure.verification import KeyStore
from backend.services.officers import create_officer
from tests.conftest import make_settings
from tests.factories import an_agency, officer_body
from tests.faults.conftest import WorkerProcess


async def test_the_worker_marks_overdue_credentials_expired(pg_url, redis_server, tmp_path):
    settings = make_settings(pg_url, tmp_path, redis_url=redis_server.url)
    async with orm(settings):
        agency = await an_agency()
        officer = await create_officer(agency.agency.id, officer_body(), "test")
        clock = Clock()
        cred, _ = await credentials.issue(agency.agency.id, officer.id, valid_from=None,
                                          valid_until=clock.today(), actor="test",
                                          keys=KeyStore(settings.data_dir), clock=clock)
        await Credential.filter(id=cred.id).update(valid_until=clock.today() - timedelta(days=1))
        env = {"YANGGUANG_DATABASE_URL": pg_url, "YANGGUANG_REDIS_URL": redis_server.url,
               "YANGGUANG_DATA_DIR": str(settings.data_dir), "YANGGUANG_LOG_LEVEL": "WARNING"}
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            for _ in range(200):
                if (await Credential.get(id=cred.id)).status == "expired":
                    break
                await asyncio.sleep(0.1)
        finally:
            worker.stop()
        assert (await Credential.get(id=cred.id)).status == "expired", (tmp_path / "worker.log").read_text()[-2000:]
