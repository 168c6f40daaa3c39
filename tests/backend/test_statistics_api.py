"""Remedies and annual statistics over HTTP: the remedy route and its refusals, the report of a year
(an agency sees only its own, the supervisor names the agency), submit and publish with the roles
that answer for them, the year path parameter, the public list of published reports only, and
kind=statistics in both overdue views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.models.enums import Role
from tests.factories import a_supervisor, an_agency, publish


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 12, 1, 10, 0, tzinfo=SHANGHAI))


async def _case_with_decision(client, auth: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    resp = await client.post("/api/v1/cases", json={"title": "无照经营", "type": "penalty", "parties": [
        {"kind": "person", "name": "张三丰", "phone": "13800138000", "id_number": "330106199001011234"}]},
        headers=auth)
    assert resp.status == 201, await resp.text()
    case = await resp.json()
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=auth, json={
        "document_no": f"杭西市监罚〔2025〕{case['number']}号", "summary": "罚款人民币二千元。",
        "decided_at": "2025-12-01", "amount": "2000.00", "measures": ["fine"]})
    assert resp.status == 201, await resp.text()
    return case, await resp.json()


async def test_a_remedy_is_recorded_listed_and_refused_cleanly(client, clock):
    agency, other = await an_agency(), await an_agency("另一局")
    case, decision = await _case_with_decision(client, agency.auth())
    url = f"/api/v1/cases/{case['id']}/remedies"
    resp = await client.post(url, headers=agency.auth(), json={
        "kind": "reconsideration", "outcome": "pending", "decision_id": decision["id"], "filed_on": "2025-12-01",
        "authority": "杭州市西湖区人民政府"})
    assert resp.status == 201, await resp.text()
    filed = await resp.json()
    assert (filed["seq"], filed["proceeding_id"], filed["recorded_by"]) == (1, filed["id"], "测试管理员")
    assert filed["revocation"] is None
    resp = await client.post(url, headers=agency.auth(), json={
        "proceeding_id": filed["id"], "outcome": "revoked", "decided_on": "2025-12-01",
        "document_no": "西政复〔2025〕9号"})
    assert resp.status == 201, await resp.text()
    listed = await (await client.get(url, headers=agency.auth())).json()
    assert [(i["seq"], i["outcome"]) for i in listed["items"]] == [(1, "pending"), (2, "revoked")]
    supervisor = await a_supervisor()
    assert (await client.get(url, headers=supervisor.auth())).status == 200

    for body, status, code in (
            ({"kind": "reconsideration", "outcome": "quashed", "filed_on": "2025-12-01", "authority": "x"}, 422, None),
            ({"kind": "reconsideration", "outcome": "pending", "filed_on": "2025-12-02", "authority": "x"}, 422,
             "remedy_date_in_future"),
            ({"proceeding_id": filed["id"], "outcome": "pending"}, 201, None),  # an appeal reopens it
            ({"proceeding_id": filed["id"], "outcome": "pending"}, 409, "remedy_reopen_not_allowed")):
        resp = await client.post(url, headers=agency.auth(), json=body)
        assert resp.status == status, (body, await resp.text())
        if code:
            assert (await resp.json())["error"]["code"] == code
    # Another agency's case: not found, for writing and for reading; and nothing was written.
    resp = await client.post(url, headers=other.auth(), json={
        "kind": "litigation", "outcome": "pending", "filed_on": "2025-12-01", "authority": "西湖区人民法院"})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "case_not_found"
    assert (await client.get(url, headers=other.auth())).status == 404
    reviewer = await agency.key(Role.REVIEWER)
    assert (await client.post(url, headers=agency.auth(reviewer), json={
        "kind": "litigation", "outcome": "pending", "filed_on": "2025-12-01", "authority": "法院"})).status == 403
    assert len((await (await client.get(url, headers=agency.auth())).json())["items"]) == 3


async def test_a_report_is_submitted_and_published_by_its_own_agency_and_only_then_public(client, clock):
    agency, other, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    await _case_with_decision(client, agency.auth())
    clock.at = datetime(2026, 1, 12, 10, 0, tzinfo=SHANGHAI)
    head = await agency.key(Role.HEAD)

    own = await client.get("/api/v1/statistics/2025", headers=agency.auth())
    assert own.status == 200, await own.text()
    draft = await own.json()
    assert (draft["status"], draft["submit_due_on"], draft["publish_due_on"]) == ("draft", "2026-01-15", "2026-01-31")
    assert draft["live"]["by_type"]["penalty"]["amount_fen"] == 200000 and draft["versions"] == []
    # BOLA: B cannot read A's draft, nor submit or publish it (its calls act on its own report only).
    resp = await client.get(f"/api/v1/statistics/2025?agency_id={agency.agency.id}", headers=other.auth())
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "other_agency"
    resp = await client.get("/api/v1/statistics/2025", headers=supervisor.auth())
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "agency_id_required"
    seen = await client.get(f"/api/v1/statistics/2025?agency_id={agency.agency.id}", headers=supervisor.auth())
    assert (await seen.json())["live"]["total"]["decisions"] == 1

    officer = await agency.key(Role.OFFICER)
    assert (await client.post("/api/v1/statistics/2025/submit", headers=agency.auth(officer), json={})).status == 403
    assert (await client.post("/api/v1/statistics/2025/submit", headers=supervisor.auth(), json={})).status == 403
    resp = await client.post("/api/v1/statistics/2025/publish", headers=agency.auth(head))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "statistics_publish_not_allowed"
    for year, code in (("0", "statistics_year_invalid"), ("99999", "statistics_year_invalid"),
                       ("abcd", "statistics_year_invalid"), ("2027", "statistics_year_in_future"),
                       ("2026", "statistics_year_not_over")):
        resp = await client.post(f"/api/v1/statistics/{year}/submit", headers=agency.auth(head), json={})
        assert resp.status == 422, (year, await resp.text())
        assert (await resp.json())["error"]["code"] == code

    resp = await client.post("/api/v1/statistics/2025/submit", headers=agency.auth(head), json={})
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["status"] == "submitted" and report["versions"][0]["submitted_by"] == "测试head"
    assert (await client.get(f"/api/v1/statistics/2025?agency_id={agency.agency.id}",
                             headers=supervisor.auth())).status == 200
    resp = await client.post("/api/v1/statistics/2025/publish", headers=other.auth())  # B's own: never submitted
    assert resp.status == 409
    public = await (await client.get("/mp/v1/statistics/2025")).json()
    assert public["total"] == 0  # submitted is not published

    resp = await client.post("/api/v1/statistics/2025/publish", headers=agency.auth(head))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["published_version"] == 1
    await client.post("/api/v1/statistics/2025/submit", headers=other.auth(), json={})  # B: submitted only
    resp = await client.get("/mp/v1/statistics/2025")
    assert resp.status == 200, await resp.text()
    public = await resp.json()
    assert [(i["agency_name"], i["version"], i["corrected"]) for i in public["items"]] == [("甲局", 1, False)]
    assert public["items"][0]["figures"]["total"]["amount_fen"] == 200000
    text = await resp.text()
    assert "张三丰" not in text and "13800138000" not in text and "330106" not in text
    filtered = await (await client.get(f"/mp/v1/statistics/2025?agency={other.agency.id}")).json()
    assert filtered["total"] == 0
    for year in ("0", "99999", "2027", "x"):
        resp = await client.get(f"/mp/v1/statistics/{year}")
        assert resp.status == 422 and (await resp.json())["error"]["code"].startswith("statistics_year_")
    assert (await client.get("/mp/v1/statistics/2025?agency=not-a-uuid")).status == 422


async def test_overdue_reports_show_in_the_supervisors_and_the_agencys_view(client, clock):
    agency, other, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    clock.at = datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)
    page = await (await client.get("/api/v1/supervision/overdue?kind=statistics", headers=supervisor.auth())).json()
    assert {(i["agency_name"], i["clock"]) for i in page["items"]} == {("甲局", "yellow"), ("乙局", "yellow")}
    clock.at = datetime(2026, 1, 16, 10, 0, tzinfo=SHANGHAI)
    resp = await client.get("/api/v1/supervision/overdue?kind=statistics&page_size=1", headers=supervisor.auth())
    assert resp.status == 200, await resp.text()
    page = await resp.json()
    assert page["total"] == 2 and len(page["items"]) == 1
    item = page["items"][0]
    assert (item["kind"], item["year"], item["stage"], item["clock"], item["days_overdue"], item["due_on"]) == \
        ("statistics", 2025, "submission", "red", 1, "2026-01-15")
    own = await (await client.get("/api/v1/overdue?kind=statistics", headers=agency.auth())).json()
    assert [(i["agency_id"], i["stage"]) for i in own["items"]] == [(str(agency.agency.id), "submission")]
    await client.post("/api/v1/statistics/2025/submit", headers=agency.auth(), json={})
    assert (await (await client.get("/api/v1/overdue?kind=statistics", headers=agency.auth())).json())["total"] == 0
    assert (await (await client.get("/api/v1/overdue?kind=statistics", headers=other.auth())).json())["total"] == 1


async def test_recording_that_a_published_decision_was_revoked_registers_its_withdrawal(client, clock):
    agency = await an_agency()
    case, decision = await _case_with_decision(client, agency.auth())
    resp = await publish(client, decision["id"], agency.auth())
    assert resp.status == 200, await resp.text()
    url = f"/api/v1/cases/{case['id']}/remedies"
    resp = await client.post(url, headers=agency.auth(), json={
        "kind": "litigation", "outcome": "confirmed_illegal", "decision_id": decision["id"], "filed_on": "2025-12-01",
        "decided_on": "2025-12-01", "authority": "杭州市西湖区人民法院", "document_no": "（2025）浙0106行初9号"})
    assert resp.status == 201, await resp.text()
    revocation = (await resp.json())["revocation"]
    assert (revocation["decision_id"], revocation["reason"], revocation["date"]) == (
        decision["id"], "confirmed_illegal", "2025-12-01")
    assert revocation["withdraw_due_on"] == "2025-12-04" and revocation["recorded_by"] == "测试管理员"
    # The same as registering it by hand: a second registration is refused as a duplicate.
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/revocations", headers=agency.auth(),
                             json={"reason": "revoked", "date": "2025-12-01"})
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "decision_already_revoked")
