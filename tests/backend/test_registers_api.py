"""The registers over HTTP (R-D1, R-D3, R-D4): the agency's routes under /api/v1/registers, who may
call them, bad input, the public JSON and H5 pages (published versions only) and kind=register in
the overdue views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.http.register_content import EXAMPLES
from backend.models.enums import RegisterKind, Role
from tests.factories import a_supervisor, an_agency

K = RegisterKind


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))  # a Friday


def power_body(code: str = "XZCF-0001", **content: Any) -> dict[str, Any]:
    return {"code": code, "effective_from": "2026-12-01", "content": {**EXAMPLES[K.POWER], **content}}


async def _json(resp: Any, status: int) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_a_power_and_the_agency_register_go_from_draft_through_review_to_the_public(client, clock):
    agency = await an_agency("杭州市西湖区市场监督管理局")
    reviewer = agency.auth(await agency.key(Role.REVIEWER))
    drafted = await _json(await client.post("/api/v1/registers/power", json=power_body(), headers=agency.auth()), 201)
    assert (drafted["state"], drafted["version"], drafted["publish_due_on"]) == ("draft", 1, "2026-12-18")
    assert drafted["allowed_actions"] == ["submit", "supersede"]
    url = f"/api/v1/registers/versions/{drafted['id']}"
    refused = await client.post(url + "/publish", headers=agency.auth())  # not reviewed
    assert (await _json(refused, 409))["error"]["code"] == "register_item_publish_not_allowed"
    await _json(await client.post(url + "/submit", headers=agency.auth()), 200)
    # Only the legal-review unit reviews; the admin's key is refused by role.
    opinion = {"outcome": "approved", "opinion": "依据准确，同意公开"}
    assert (await client.post(url + "/review", json=opinion, headers=agency.auth())).status == 403
    reviewed = await _json(await client.post(url + "/review", json=opinion, headers=reviewer), 200)
    assert reviewed["state"] == "approved"
    assert [(r["reviewer_name"], r["opinion"], r["reviewed_at"]) for r in reviewed["reviews"]] == [
        ("测试reviewer", "依据准确，同意公开", "2026-11-20T10:00:00+08:00")]

    public = f"/mp/v1/agencies/{agency.agency.id}/registers/power"
    assert (await _json(await client.get(public), 200))["total"] == 0  # approved is not yet public
    published = await _json(await client.post(url + "/publish", headers=agency.auth()), 200)
    assert published["state"] == "published" and published["published_by_name"] == "测试管理员"
    page = await _json(await client.get(public), 200)
    assert page["total"] == 1 and page["kind_name"] == "权责清单"
    assert page["items"][0]["in_effect_version"] is None  # takes effect on 12-01
    assert page["items"][0]["versions"][0]["content"]["remedy"] == EXAMPLES[K.POWER]["remedy"]
    clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert (await _json(await client.get(public), 200))["items"][0]["in_effect_version"] == 1

    # A newer draft of the same item stays inside the agency.
    await _json(await client.post("/api/v1/registers/power", json=power_body(name="修订草稿"),
                                  headers=agency.auth()), 201)
    page = await _json(await client.get(public), 200)
    assert [v["title"] for v in page["items"][0]["versions"]] == [EXAMPLES[K.POWER]["name"]]
    history = await _json(await client.get("/api/v1/registers/power/items/XZCF-0001", headers=agency.auth()), 200)
    assert [(v["version"], v["state"]) for v in history["versions"]] == [(1, "published"), (2, "draft")]

    # The agency's own register (R-D1), every field public once reviewed.
    me = await _json(await client.post("/api/v1/registers/agency", json={
        "effective_from": "2026-12-01", "content": EXAMPLES[K.AGENCY]}, headers=agency.auth()), 201)
    about = await _json(await client.get(f"/mp/v1/agencies/{agency.agency.id}"), 200)
    assert about["qualification"] is None and about["credit_code"] == agency.agency.credit_code
    mine = f"/api/v1/registers/versions/{me['id']}"
    await client.post(mine + "/submit", headers=agency.auth())
    await client.post(mine + "/review", json=opinion, headers=reviewer)
    await _json(await client.post(mine + "/publish", headers=agency.auth()), 200)
    about = await _json(await client.get(f"/mp/v1/agencies/{agency.agency.id}"), 200)
    assert about["qualification"]["content"] == EXAMPLES[K.AGENCY]
    assert about["qualification"]["in_effect"] is True
    assert {r["kind"]: r["items"] for r in about["registers"]}["power"] == 1

    page_html = await client.get(f"/a/{agency.agency.id}")
    text = await page_html.text()
    assert page_html.status == 200 and "0571-12315" in text and "陈建国" in text and "财政全额拨款" in text
    listing = await (await client.get(f"/a/{agency.agency.id}/registers/power")).text()
    assert EXAMPLES[K.POWER]["name"] in listing and "修订草稿" not in listing and "现行有效" in listing


async def test_an_agency_cannot_touch_another_agencys_register(client, clock):
    mine, theirs = await an_agency(), await an_agency("另一局")
    drafted = await _json(await client.post("/api/v1/registers/power", json=power_body(), headers=mine.auth()), 201)
    url = f"/api/v1/registers/versions/{drafted['id']}"
    for action in ("/submit", "/publish"):
        resp = await client.post(url + action, headers=theirs.auth())
        assert (await _json(resp, 404))["error"]["code"] == "register_version_not_found"
    their_reviewer = theirs.auth(await theirs.key(Role.REVIEWER))
    await client.post(url + "/submit", headers=mine.auth())
    resp = await client.post(url + "/review", json={"outcome": "approved", "opinion": "同意"}, headers=their_reviewer)
    assert resp.status == 404
    assert (await client.get(url, headers=theirs.auth())).status == 404
    assert (await client.get("/api/v1/registers/power/items/XZCF-0001", headers=theirs.auth())).status == 404
    assert (await _json(await client.get("/api/v1/registers/power", headers=theirs.auth()), 200))["total"] == 0
    assert (await _json(await client.get(url, headers=mine.auth()), 200))["state"] == "pending_review"


@pytest.mark.parametrize("change", [
    {"code": "有空格 的编码"}, {"code": ""}, {"effective_from": "2026-13-01"}, {"effective_from": "1900-01-01"},
    {"extra": 1}, {"content": {**EXAMPLES[K.POWER], "power_type": "fine"}},
    {"content": {**EXAMPLES[K.POWER], "remedy": ""}}, {"content": {**EXAMPLES[K.POWER], "secret": "x"}},
    {"content": {**EXAMPLES[K.POWER], "legal_basis": "依据" * 3000}}, {"content": None},
    {"content": {**EXAMPLES[K.POWER], "name": "a\x00b"}},
])
async def test_bad_register_input_is_a_422_with_a_code(client, clock, change):
    agency = await an_agency()
    resp = await client.post("/api/v1/registers/power", json={**power_body(), **change}, headers=agency.auth())
    body = await _json(resp, 422)
    assert body["error"]["code"] and body["error"]["message"]


async def test_bad_register_input_of_other_kinds_and_routes(client, clock):
    agency, supervisor = await an_agency(), await a_supervisor()
    officer = agency.auth(await agency.key(Role.OFFICER))
    bad_phone = {"effective_from": "2026-12-01", "content": {**EXAMPLES[K.AGENCY], "complaint_phone": "call us"}}
    assert (await client.post("/api/v1/registers/agency", json=bad_phone, headers=agency.auth())).status == 422
    bad_period = {"effective_from": "2026-12-01", "content": {**EXAMPLES[K.ENTRUSTED_ORG], "agreement": {
        **EXAMPLES[K.ENTRUSTED_ORG]["agreement"], "valid_until": "2026-01-01"}}}
    assert (await client.post("/api/v1/registers/entrusted_org", json=bad_period, headers=agency.auth())).status == 422
    bad_code = {"effective_from": "2026-12-01", "content": {**EXAMPLES[K.ENTRUSTED_ORG],
                                                            "credit_code": "12330106MB12345673"}}
    resp = await client.post("/api/v1/registers/entrusted_org", json=bad_code, headers=agency.auth())
    assert (await _json(resp, 422))["error"]["code"] == "invalid_credit_code"
    one_step = {"code": "LCT-1", "effective_from": "2026-12-01",
                "content": {**EXAMPLES[K.FLOWCHART], "steps": EXAMPLES[K.FLOWCHART]["steps"][:1]}}
    assert (await client.post("/api/v1/registers/flowchart", json=one_step, headers=agency.auth())).status == 422
    assert (await client.post("/api/v1/registers/power", json=power_body(), headers=officer)).status == 403
    assert (await client.post("/api/v1/registers/power", json=power_body(), headers=supervisor.auth())).status == 403
    drafted = await _json(await client.post("/api/v1/registers/power", json=power_body(), headers=agency.auth()), 201)
    url = f"/api/v1/registers/versions/{drafted['id']}"
    reviewer = agency.auth(await agency.key(Role.REVIEWER))
    await client.post(url + "/submit", headers=agency.auth())
    for bad in ({"outcome": "approved"}, {"outcome": "approved", "opinion": "   "},
                {"outcome": "maybe", "opinion": "x"}):
        assert (await client.post(url + "/review", json=bad, headers=reviewer)).status == 422, bad
    assert (await client.post("/api/v1/registers/versions/not-a-uuid/submit", headers=agency.auth())).status == 404
    for path in (f"/mp/v1/agencies/{agency.agency.id}/registers/nonsense",
                 f"/mp/v1/agencies/{supervisor.agency.id}", "/mp/v1/agencies/00000000-0000-4000-8000-000000000000",
                 f"/a/{agency.agency.id}/registers/nonsense"):
        resp = await client.get(path)
        assert resp.status == 404, path
    resp = await client.get(f"/mp/v1/agencies/{agency.agency.id}/registers/nonsense")
    assert (await resp.json())["error"]["code"] == "register_kind_not_found"
    assert (await client.get(f"/mp/v1/agencies/{agency.agency.id}/registers/power?page=0")).status == 422


async def test_an_unpublished_change_is_overdue_after_20_working_days_in_both_views(client, clock):
    agency, other, supervisor = await an_agency(), await an_agency("另一局"), await a_supervisor()
    drafted = await _json(await client.post("/api/v1/registers/power", json=power_body(), headers=agency.auth()), 201)
    clock.at = datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI)
    page = await _json(await client.get("/api/v1/supervision/overdue?kind=register", headers=supervisor.auth()), 200)
    [item] = [i for i in page["items"] if i["version_id"] == drafted["id"]]
    assert (item["kind"], item["register_kind"], item["code"], item["clock"], item["days_overdue"], item["due_on"]) == (
        "register", "power", "XZCF-0001", "red", 3, "2026-12-18")
    own = await _json(await client.get("/api/v1/overdue?kind=register", headers=agency.auth()), 200)
    assert [i["version_id"] for i in own["items"]] == [drafted["id"]]
    assert (await _json(await client.get("/api/v1/overdue?kind=register", headers=other.auth()), 200))["total"] == 0


async def _publish(client: Any, version_id: str, admin: dict[str, str], reviewer: dict[str, str]) -> Any:
    url = f"/api/v1/registers/versions/{version_id}"
    await _json(await client.post(url + "/submit", headers=admin), 200)
    await _json(await client.post(url + "/review", json={"outcome": "approved", "opinion": "同意"}, headers=reviewer),
                200)
    return await _json(await client.post(url + "/publish", headers=admin), 200)


async def test_a_power_is_retired_through_review_and_leaves_the_public_pages_from_its_date(client, clock):
    agency = await an_agency()
    reviewer = agency.auth(await agency.key(Role.REVIEWER))
    drafted = await _json(await client.post("/api/v1/registers/power", json=power_body(), headers=agency.auth()), 201)
    published = await _publish(client, drafted["id"], agency.auth(), reviewer)
    assert [s["action"] for s in published["steps"]] == ["propose", "submit", "approve", "publish"]
    assert all(isinstance(s["leaf_index"], int) for s in published["steps"])
    assert published["reviews"][0]["leaf_index"] == published["steps"][2]["leaf_index"]
    public = f"/mp/v1/agencies/{agency.agency.id}/registers/power"
    shown = (await _json(await client.get(public), 200))["items"][0]["versions"][0]
    assert shown["leaf_index"] == published["steps"][-1]["leaf_index"] and shown["retirement"] is False
    entry = await _json(await client.get(f"/api/v1/log/entries/{shown['leaf_index']}", headers=agency.auth()), 200)
    assert entry["kind"] == "register_event"

    url = "/api/v1/registers/power/items/XZCF-0001/retirements"
    retirement = {"effective_from": "2027-01-01", "reason": "设定依据已废止"}
    for bad in ({"effective_from": "2027-01-01"}, {**retirement, "reason": "  "}, {**retirement, "extra": 1},
                {**retirement, "effective_from": "2027-02-30"}, {**retirement, "reason": "理" * 501}):
        assert (await _json(await client.post(url, json=bad, headers=agency.auth()), 422))["error"]["code"]
    assert (await client.post(url, json=retirement, headers=reviewer)).status == 403
    missing = await client.post("/api/v1/registers/power/items/NOPE/retirements", json=retirement,
                                headers=agency.auth())
    assert (await _json(missing, 404))["error"]["code"] == "register_item_not_found"
    own = await client.post("/api/v1/registers/agency/items/agency/retirements", json=retirement,
                            headers=agency.auth())
    assert (await _json(own, 409))["error"]["code"] == "register_agency_not_retirable"
    ending = await _json(await client.post(url, json=retirement, headers=agency.auth()), 201)
    assert (ending["retirement"], ending["retirement_reason"], ending["state"], ending["version"]) == (
        True, "设定依据已废止", "draft", 2)
    assert ending["publish_due_on"] == "2026-12-18" and ending["steps"][0]["action"] == "retire"
    await _publish(client, ending["id"], agency.auth(), reviewer)

    clock.at = datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)  # still listed, its end announced
    page = await _json(await client.get(public), 200)
    assert page["total"] == 1 and page["items"][0]["versions"][0]["retirement"] is True
    assert "自 2027-01-01 起停止公开（设定依据已废止）" in await (await client.get(
        f"/a/{agency.agency.id}/registers/power")).text()
    clock.at = datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)
    assert (await _json(await client.get(public), 200))["total"] == 0
    about = await _json(await client.get(f"/mp/v1/agencies/{agency.agency.id}"), 200)
    assert {r["kind"]: r["items"] for r in about["registers"]}["power"] == 0
    html = await (await client.get(f"/a/{agency.agency.id}/registers/power")).text()
    assert EXAMPLES[K.POWER]["name"] not in html and "暂无已公开的事项" in html
    history = await _json(await client.get("/api/v1/registers/power/items/XZCF-0001", headers=agency.auth()), 200)
    assert [(v["version"], v["retirement"]) for v in history["versions"]] == [(1, False), (2, True)]
    assert (history["in_effect_version"], history["retired"]) == (2, True)
    again = await client.post(url, json={**retirement, "effective_from": "2027-02-01"}, headers=agency.auth())
    assert (await _json(again, 409))["error"]["code"] == "register_item_already_retired"
