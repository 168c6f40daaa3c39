"""The page a decision notice links to: masked text, corrections visible, withdrawn text gone."""

from __future__ import annotations

import uuid

import pytest

from backend.models import Party
from backend.models.enums import PartyKind
from backend.services.masking import mask_text
from tests.conftest import make_settings
from tests.factories import an_agency, correct, publish


async def _published(client, agency, summary: str) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    body = {"title": "无证经营案", "type": "penalty", "parties": [
        {"name": "欧阳明", "kind": "person", "phone": "13900001111", "id_number": "330102199001011234"},
        {"name": "杭州某某餐饮有限公司", "kind": "organization", "phone": "13900002222"}]}
    case = await (await client.post("/api/v1/cases", json=body, headers=agency.auth())).json()
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=agency.auth(), json={
        "document_no": f"杭西市监罚〔2026〕{uuid.uuid4().hex[:6]}号", "summary": summary, "decided_at": "2026-11-20"})
    decision = await resp.json()
    assert (await publish(client, decision["id"], agency.auth())).status == 200
    return case, decision


async def test_the_public_sees_a_masked_decision_and_every_correction(client):
    agency = await an_agency()
    summary = "当事人欧阳明（身份证号330102199001011234，电话13900001111）无证经营，罚款二千元。"
    _, decision = await _published(client, agency, summary)
    page = await client.get(f"/d/{decision['id']}")
    assert page.status == 200
    html = await page.text()
    assert "欧阳*" in html and "公示中" in html and decision["document_no"] in html
    for secret in ("欧阳明", "330102199001011234", "13900001111"):
        assert secret not in html
    assert "杭州某某餐饮有限公司" in html  # organisations are named

    resp = await correct(client, decision["id"], agency.auth(), "当事人欧阳明无证经营，罚款一千元。", "金额笔误")
    assert resp.status == 200
    data = await (await client.get(f"/mp/v1/decisions/{decision['id']}")).json()
    assert data["status"] == "corrected" and "一千元" in data["text"] and "欧阳明" not in data["text"]
    assert [(v["kind"], v["reason"]) for v in data["history"]] == [("publish", ""), ("correct", "金额笔误")]


async def test_a_withdrawn_decision_leaves_public_view_but_its_withdrawal_stays_visible(client):
    agency = await an_agency()
    _, decision = await _published(client, agency, "罚款二千元。")
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/withdraw", headers=agency.auth(),
                             json={"reason": "复议机关已撤销"})
    assert resp.status == 200
    data = await (await client.get(f"/mp/v1/decisions/{decision['id']}")).json()
    assert data["status"] == "withdrawn" and data["text"] is None
    html = await (await client.get(f"/d/{decision['id']}")).text()
    assert "已撤回" in html and "复议机关已撤销" in html and "罚款二千元" not in html


async def test_drafts_and_unknown_ids_are_not_found(client):
    agency = await an_agency()
    case = await (await client.post("/api/v1/cases", headers=agency.auth(), json={
        "title": "许可案", "type": "permit", "parties": [{"name": "某公司", "kind": "organization"}]})).json()
    draft = await (await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=agency.auth(), json={
        "document_no": "草稿1号", "summary": "未公示", "decided_at": "2026-11-20"})).json()
    for path in (f"/d/{draft['id']}", f"/mp/v1/decisions/{draft['id']}", f"/d/{uuid.uuid4()}", "/d/not-a-uuid"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] in ("decision_not_found", "not_found")


def test_masking_rules():
    people = [Party(kind=PartyKind.PERSON, name="欧阳", phone=None, id_number=None),
              Party(kind=PartyKind.PERSON, name="欧阳修", phone=None, id_number=None),
              Party(kind=PartyKind.PERSON, name="李小", is_minor=True, phone=None, id_number=None)]
    out = mask_text("欧阳修与欧阳及李小，电话 0571-87654321、+86 13812345678，证件 11010519491231002X", people)
    # 欧阳修 keeps its compound surname; the party called 欧阳 is 欧 + 阳; the minor is not named at all.
    assert out.startswith("欧阳*与欧*及未成年人，")
    for secret in ("欧阳修", "李", "87654321", "13812345678", "11010519491231002X"):
        assert secret not in out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_public_decision_pages_and_subscription_reports_are_rate_limited(aiohttp_client, db_url, tmp_path):
    from backend.app import create_app

    client = await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", scan_rate_per_minute=3)))
    some_id = uuid.uuid4()
    statuses = [(await client.get(f"/d/{some_id}")).status for _ in range(3)]
    assert statuses == [404] * 3
    for url in (f"/d/{some_id}", f"/mp/v1/decisions/{some_id}"):
        resp = await client.get(url)
        assert resp.status == 429, url
        assert (await resp.json())["error"]["code"] == "rate_limited"
    body = {"code": "wxcode", "results": {"TPL": "accept"}}
    reports = [(await client.post("/mp/v1/subscriptions", json=body)).status for _ in range(11)]
    assert reports[-1] == 429 and 429 not in reports[:10]


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_browsers_get_html_pages_for_unknown_decisions_and_rate_limits(aiohttp_client, db_url, tmp_path):
    from backend.app import create_app

    client = await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", scan_rate_per_minute=3)))
    # A malformed id never reaches a route (nor the budget), and is still a page for a browser.
    for path in ("/d/not-a-uuid", *(f"/d/{uuid.uuid4()}" for _ in range(3))):  # the budget is 3
        resp = await client.get(path, headers=BROWSER)
        assert resp.status == 404 and resp.content_type == "text/html", path
        page = await resp.text()
        assert "未找到" in page and "<html" in page and '"error"' not in page
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    resp = await client.get(f"/d/{uuid.uuid4()}", headers=BROWSER)
    assert resp.status == 429 and resp.content_type == "text/html"
    assert "请求过于频繁" in await resp.text() and int(resp.headers["Retry-After"]) >= 1
    for _ in range(4):  # the scan bucket is separate: the fourth scan is over budget
        resp = await client.get("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", headers=BROWSER)
    assert resp.status == 429 and resp.content_type == "text/html"
    # API clients keep the JSON error body, on the same routes.
    resp = await client.get(f"/d/{uuid.uuid4()}")
    assert resp.status == 429 and (await resp.json())["error"]["code"] == "rate_limited"
    resp = await client.get(f"/mp/v1/decisions/{uuid.uuid4()}", headers=BROWSER)
    assert resp.content_type == "application/json"
