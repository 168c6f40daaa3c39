"""The supervisor's complaint views over HTTP, on the injected clock: the periodic job escalates a complaint
past its limit, ``GET /api/v1/supervision/overdue?kind=complaint`` lists it, ``?overdue=true`` filters it."""

from __future__ import annotations

from datetime import datetime

from backend.app import create_app
from backend.app_keys import SCHEDULER
from backend.clock import SHANGHAI, FrozenClock
from backend.models import ComplaintEvent
from backend.periodic import PERIODIC_JOBS
from tests.credentials.support import a_credential
from tests.factories import a_supervisor, an_agency

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


async def test_an_overdue_complaint_is_escalated_by_the_job_and_shown_to_the_supervisor(aiohttp_client, settings):
    clock = FrozenClock(FRIDAY)
    client = await aiohttp_client(create_app(settings, clock=clock))
    agency, sup = await an_agency("甲局"), await a_supervisor()
    cred = await a_credential(client, agency)
    filed = await client.post("/mp/v1/complaints", json={
        "kind": "complaint", "about": {"type": "officer", "officer_token": cred["token"]}, "text": "未出示证件"})
    receipt = await filed.json()
    assert receipt["acknowledge_due_on"] == "2026-12-08"  # two working days after a Friday
    overdue = await client.get("/api/v1/supervision/overdue?kind=complaint", headers=sup.auth())
    assert overdue.status == 200 and (await overdue.json())["total"] == 0

    clock.at = datetime(2026, 12, 9, 9, 0, tzinfo=SHANGHAI)
    job = next(j for j in PERIODIC_JOBS if j.name == "escalate_complaints")
    # (The embedded server's own loop may be running the same row now: either way it happens once.)
    await job.run(client.app[SCHEDULER].ctx)
    assert await job.run(client.app[SCHEDULER].ctx) == 0
    assert await ComplaintEvent.filter(action="escalate").count() == 1
    page = await (await client.get("/api/v1/supervision/overdue?kind=complaint", headers=sup.auth())).json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert (item["tracking_no"], item["agency_name"], item["late"], item["due_on"], item["days_overdue"],
            item["escalated"], item["status"]) == (receipt["tracking_no"], "甲局", "acknowledge", "2026-12-08", 1,
                                                   True, "escalated")
    mine = await (await client.get("/api/v1/complaints?overdue=true", headers=agency.auth())).json()
    assert [c["tracking_no"] for c in mine["items"]] == [receipt["tracking_no"]]
    assert mine["items"][0]["overdue"] == "acknowledge"
    assert (await (await client.get("/api/v1/complaints?overdue=false", headers=agency.auth())).json())["total"] == 0
    reviews = await client.get("/api/v1/supervision/overdue?kind=review", headers=sup.auth())
    assert reviews.status == 200 and (await reviews.json())["total"] == 0  # the review view is unchanged
    assert (await client.get("/api/v1/supervision/overdue?kind=complaint", headers=agency.auth())).status == 403
