"""Orders to rectify over HTTP (R-X3, R-X4): who may call what (an agency key cannot order; agency B
cannot answer A's), bad input as 4xx with stable codes, the escalation job on the injected clock and
the supervisor's overdue view ``kind=rectification``, the activity views."""

from __future__ import annotations

import uuid
from datetime import datetime

from backend.app import create_app
from backend.app_keys import SCHEDULER
from backend.clock import SHANGHAI, FrozenClock
from backend.models import RectificationEvent
from backend.models.enums import Role
from backend.periodic import PERIODIC_JOBS
from backend.services.agencies import set_supervising_body
from tests.factories import a_supervisor, an_agency

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


async def a_setup(aiohttp_client, settings):  # type: ignore[no-untyped-def]
    clock = FrozenClock(FRIDAY)
    client = await aiohttp_client(create_app(settings, clock=clock))
    a, b, body = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor("西湖区司法局")
    for agency in (a, b):
        await set_supervising_body(agency.agency, body.agency)
    return client, clock, a, b, body


async def test_the_supervisor_orders_the_agency_answers_and_no_one_else_reaches_it(aiohttp_client, settings):
    client, _, a, b, body = await a_setup(aiohttp_client, settings)
    order = {"agency_id": str(a.agency.id), "subject": "对当事人张三未告知陈述申辩权利，请整改", "due_on": "2026-12-14"}
    assert (await client.post("/api/v1/supervision/rectifications", json=order, headers=a.auth())).status == 403
    made = await client.post("/api/v1/supervision/rectifications", json=order, headers=body.auth())
    assert made.status == 201
    r = await made.json()
    assert (r["status"], r["agency_name"], r["ordered_by_name"], r["due_on"]) == ("ordered", "甲局", "测试监督员",
                                                                                "2026-12-14")
    assert "张三" not in r["subject"] and "张*" in r["subject"]
    rid = r["id"]

    answer = {"answer": "已重新告知并听取陈述申辩"}
    refused = await client.post(f"/api/v1/rectifications/{rid}/answer", json=answer, headers=b.auth())
    assert refused.status == 404 and (await refused.json())["error"]["code"] == "rectification_not_found"
    assert (await client.get(f"/api/v1/rectifications/{rid}", headers=b.auth())).status == 404
    officer = await a.key(Role.OFFICER)  # the agency's officers are not its readers of orders
    assert (await client.get("/api/v1/rectifications", headers=a.auth(officer))).status == 403
    assert (await (await client.get("/api/v1/rectifications", headers=b.auth())).json())["total"] == 0

    answered = await client.post(f"/api/v1/rectifications/{rid}/answer", json=answer, headers=a.auth())
    assert answered.status == 200
    got = await answered.json()
    assert got["status"] == "answered" and [s["action"] for s in got["steps"]] == ["order", "answer"]
    assert [s["actor_name"] for s in got["steps"]] == ["测试监督员", "测试管理员"]
    again = await client.post(f"/api/v1/rectifications/{rid}/answer", json=answer, headers=a.auth())
    assert again.status == 409 and (await again.json())["error"]["code"] == "rectification_answer_not_allowed"
    accepted = await client.post(f"/api/v1/supervision/rectifications/{rid}/accept", json={}, headers=body.auth())
    assert accepted.status == 200 and (await accepted.json())["status"] == "accepted"
    mine = await (await client.get("/api/v1/rectifications", headers=a.auth())).json()
    assert [i["id"] for i in mine["items"]] == [rid]

    other_body = await a_supervisor("另一区司法局")
    listed = await (await client.get("/api/v1/supervision/rectifications", headers=other_body.auth())).json()
    assert listed["total"] == 1  # supervisors read every agency's
    foreign = await client.post("/api/v1/supervision/rectifications", json=order, headers=other_body.auth())
    assert foreign.status == 409 and (await foreign.json())["error"]["code"] == "not_supervising_body"


async def test_bad_orders_and_answers_are_4xx_with_stable_codes(aiohttp_client, settings):
    client, _, a, _b, body = await a_setup(aiohttp_client, settings)
    url = "/api/v1/supervision/rectifications"
    good = {"agency_id": str(a.agency.id), "subject": "整改", "due_on": "2026-12-14"}
    for bad, status, code in [
        ({**good, "due_on": "2026-12-04"}, 422, "due_on_invalid"),
        ({**good, "due_on": "14/12/2026"}, 422, "validation_error"),
        ({**good, "subject": "   "}, 422, "validation_error"),
        ({**good, "subject": "x" * 5001}, 422, "validation_error"),
        ({**good, "agency_id": str(uuid.uuid4())}, 404, "agency_not_found"),
        ({**good, "agency_id": str(body.agency.id)}, 404, "agency_not_found"),
        ({**good, "case_id": str(uuid.uuid4())}, 404, "case_not_found"),
        ({**good, "extra": 1}, 422, "validation_error"),
    ]:
        resp = await client.post(url, json=bad, headers=body.auth())
        assert resp.status == status, bad
        assert (await resp.json())["error"]["code"] == code, bad
    r = await (await client.post(url, json=good, headers=body.auth())).json()
    bad_doc = await client.post(f"/api/v1/rectifications/{r['id']}/answer",
                                json={"answer": "已整改", "evidence_id": str(uuid.uuid4())}, headers=a.auth())
    assert bad_doc.status == 404 and (await bad_doc.json())["error"]["code"] == "evidence_not_found"
    for query in ("status=nope", "overdue=maybe", "page=0", "agency_id=x"):
        assert (await client.get(f"{url}?{query}", headers=body.auth())).status == 422, query
    assert (await client.get("/api/v1/supervision/zero-enforcement?year=1999", headers=body.auth())).status == 422
    too_late = await client.get("/api/v1/supervision/zero-enforcement?year=2027", headers=body.auth())
    assert too_late.status == 422 and (await too_late.json())["error"]["code"] == "year_invalid"
    assert (await client.get("/api/v1/supervision/repeated-inspections?days=0", headers=body.auth())).status == 422
    assert (await client.get("/api/v1/supervision/repeated-inspections", headers=a.auth())).status == 403


async def test_an_overdue_order_is_escalated_by_the_job_and_shown_in_the_overdue_view(aiohttp_client, settings):
    client, clock, a, b, body = await a_setup(aiohttp_client, settings)
    made = await client.post("/api/v1/supervision/rectifications", headers=body.auth(), json={
        "agency_id": str(a.agency.id), "subject": "整改公示超期", "due_on": "2026-12-07"})
    rid = (await made.json())["id"]
    view = "/api/v1/supervision/overdue?kind=rectification"
    assert (await (await client.get(view, headers=body.auth())).json())["total"] == 0
    clock.at = datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
    job = next(j for j in PERIODIC_JOBS if j.name == "escalate_rectifications")
    await job.run(client.app[SCHEDULER].ctx)  # the embedded loop may run it too: either way, once
    assert await job.run(client.app[SCHEDULER].ctx) == 0
    assert await RectificationEvent.filter(action="escalate").count() == 1
    page = await (await client.get(view, headers=body.auth())).json()
    (item,) = page["items"]
    assert (item["kind"], item["rectification_id"], item["agency_name"], item["status"], item["days_overdue"],
            item["escalated"]) == ("rectification", rid, "甲局", "escalated", 1, True)
    own = await (await client.get("/api/v1/overdue?kind=rectification", headers=a.auth())).json()
    assert own["total"] == 1
    assert (await (await client.get("/api/v1/overdue?kind=rectification", headers=b.auth())).json())["total"] == 0
    escalated = await (await client.get("/api/v1/supervision/rectifications?status=escalated",
                                        headers=body.auth())).json()
    step = (await (await client.get(f"/api/v1/supervision/rectifications/{rid}", headers=body.auth())).json())["steps"]
    assert escalated["total"] == 1 and step[-1]["escalated_to"] == str(body.agency.id)
    zero = await (await client.get("/api/v1/supervision/zero-enforcement", headers=body.auth())).json()
    assert zero["year"] == 2026 and {i["agency_name"] for i in zero["items"]} == {"甲局", "乙局"}
    repeated = await (await client.get("/api/v1/supervision/repeated-inspections", headers=body.auth())).json()
    assert (repeated["days"], repeated["since"], repeated["items"]) == (30, "2026-11-09", [])
