"""Publication clocks over HTTP: publish_due_on on the decision, revocations, credit repair, and the
overdue views of the supervisor (/supervision/overdue) and of an agency (/overdue)."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.clock import SHANGHAI, FrozenClock
from tests.factories import a_supervisor, an_agency, publish
from tests.notifications.helpers import a_case, a_decision


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))


async def test_a_decision_shows_its_publication_clock_and_is_overdue_for_its_agency_and_the_supervisor(client, clock):
    agency, other, supervisor = await an_agency(), await an_agency("另一局"), await a_supervisor()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])  # a penalty decided 2026-11-20
    assert (decision["publish_due_on"], decision["publish_due_on_provisional"]) == ("2026-12-01", False)
    got = await (await client.get(f"/api/v1/decisions/{decision['id']}", headers=agency.auth())).json()
    assert got["publish_due_on"] == "2026-12-01" and got["withdraw_due_on"] is None

    clock.at = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
    resp = await client.get("/api/v1/supervision/overdue?kind=publication", headers=supervisor.auth())
    assert resp.status == 200, await resp.text()
    page = await resp.json()
    item = next(i for i in page["items"] if i["decision_id"] == decision["id"])
    assert (item["kind"], item["clock"], item["days_overdue"]) == ("publication", "red", 1)
    assert item["due_on"] == "2026-12-01"
    assert item["document_no"] == decision["document_no"] and item["review_id"] is None
    assert "2027" in page["calendar_warning"]  # December, and 2027's schedule is not loaded
    own = await (await client.get("/api/v1/overdue?kind=publication", headers=agency.auth())).json()
    assert [i["decision_id"] for i in own["items"]] == [decision["id"]]
    assert (await (await client.get("/api/v1/overdue?kind=publication", headers=other.auth())).json())["total"] == 0
    assert (await client.get("/api/v1/overdue?kind=publication", headers=supervisor.auth())).status == 403
    assert (await client.get("/api/v1/supervision/overdue?kind=publication", headers=agency.auth())).status == 403
    assert (await client.get("/api/v1/overdue?kind=later", headers=agency.auth())).status == 422

    await publish(client, decision["id"], agency.auth())
    assert (await (await client.get("/api/v1/overdue?kind=publication", headers=agency.auth())).json())["total"] == 0


async def test_a_revocation_starts_the_withdrawal_clock_shown_in_both_views(client, clock):
    agency, supervisor = await an_agency(), await a_supervisor()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    url = f"/api/v1/decisions/{decision['id']}/revocations"
    body = {"reason": "revoked", "date": "2026-11-23", "basis": "西政复〔2026〕31号"}
    refused = await client.post(url, json=body, headers=agency.auth())  # still a draft: nothing to withdraw
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "decision_not_public"
    await publish(client, decision["id"], agency.auth())
    for bad in ({**body, "reason": "annulled"}, {**body, "date": "2026-13-01"}, {"reason": "revoked"},
                {**body, "date": "2026-11-25"}, {**body, "extra": 1}):
        resp = await client.post(url, json=bad, headers=agency.auth())
        assert resp.status == 422, (bad, await resp.text())
        assert (await resp.json())["error"]["message"]
    resp = await client.post(url, json=body, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    revocation = await resp.json()
    assert (revocation["withdraw_due_on"], revocation["withdraw_due_on_provisional"]) == ("2026-11-26", False)
    assert revocation["reason"] == "revoked" and revocation["recorded_by"]
    again = await client.post(url, json=body, headers=agency.auth())
    assert again.status == 409 and (await again.json())["error"]["code"] == "decision_already_revoked"

    clock.at = datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    page = await (await client.get("/api/v1/supervision/overdue?kind=withdrawal", headers=supervisor.auth())).json()
    item = next(i for i in page["items"] if i["decision_id"] == decision["id"])
    assert (item["clock"], item["revocation_reason"], item["revoked_on"]) == ("red", "revoked", "2026-11-23")
    assert page["calendar_warning"] is None  # November: next year's schedule is not due yet
    own = await (await client.get("/api/v1/overdue?kind=withdrawal", headers=agency.auth())).json()
    assert own["total"] == 1
    await client.post(f"/api/v1/decisions/{decision['id']}/withdraw", json={"reason": "已被复议机关撤销"},
                      headers=agency.auth())
    assert (await (await client.get("/api/v1/overdue?kind=withdrawal", headers=agency.auth())).json())["total"] == 0


async def test_a_decision_confirmed_invalid_is_registered_and_withdrawn_as_confirmed_invalid(client, clock):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish(client, decision["id"], agency.auth())
    body = {"reason": "confirmed_invalid", "date": "2026-11-23", "basis": "（2026）浙0106行初88号"}
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/revocations", headers=agency.auth(), json=body)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["reason"] == "confirmed_invalid"
    await client.post(f"/api/v1/decisions/{decision['id']}/withdraw", json={"reason": "依判决撤回"},
                      headers=agency.auth())
    public = await (await client.get(f"/mp/v1/decisions/{decision['id']}")).json()
    assert public["history"][-1]["reason"] == "该执法决定已被确认无效：依判决撤回"
    assert "被确认无效" in await (await client.get(f"/d/{decision['id']}")).text()


async def test_a_credit_repair_before_the_minimum_period_is_refused(client, clock):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    published = await (await publish(client, decision["id"], agency.auth())).json()
    assert published["publication_ends_on"] == "2027-11-23"
    url = f"/api/v1/decisions/{decision['id']}/credit-repair"
    resp = await client.post(url, json={"reason": "已履行并作出信用承诺"}, headers=agency.auth())
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "publication_minimum_not_reached"
    assert (await client.post(url, json={}, headers=agency.auth())).status == 422
    clock.at = datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)
    resp = await client.post(url, json={"reason": "已履行并作出信用承诺"}, headers=agency.auth())
    assert resp.status == 200 and (await resp.json())["status"] == "ended"
    public = await (await client.get(f"/mp/v1/decisions/{decision['id']}")).json()
    assert public["status"] == "ended" and public["text"] is None
    assert [v["kind"] for v in public["history"]] == ["publish", "credit_repair"]
    page = await client.get(f"/d/{decision['id']}")
    assert page.status == 200 and "公示期已结束" in await page.text() and "信用修复" in await page.text()
