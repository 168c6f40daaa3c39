"""The public search over HTTP: its shape, refusals of bad input with stable codes, the H5 page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
from asyncpg.pgproto.pgproto import UUID as PgUUID
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models.enums import CaseType, DecisionStatus
from backend.services import search
from backend.settings import Settings
from miniprogram_api.handlers.decisions import SearchHitOut, dumps_hits, hit_json
from tests.factories import an_agency, correct, publish

PERSON = {"name": "欧阳明", "kind": "person", "phone": "13900001111", "id_number": "330102199001011234"}


async def _published(client, agency, org: str, summary: str = "当事人欧阳明无证经营，罚款二千元。") -> dict:  # type: ignore[no-untyped-def]
    case = await (await client.post("/api/v1/cases", headers=agency.auth(), json={
        "title": "无证经营案", "type": "penalty", "parties": [PERSON, {"name": org, "kind": "organization"}]})).json()
    decision = await (await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=agency.auth(), json={
        "document_no": f"杭西市监罚〔2026〕{uuid.uuid4().hex[:6]}号", "summary": summary,
        "decided_at": "2026-11-20"})).json()
    assert (await publish(client, decision["id"], agency.auth())).status == 200
    return decision


async def test_the_search_answers_with_public_fields_only(client):
    agency = await an_agency()
    d = await _published(client, agency, "杭州某某餐饮有限公司")
    fixed = await correct(client, d["id"], agency.auth(), "当事人欧阳明无证经营，罚款一千元。", "金额笔误")
    assert fixed.status == 200
    resp = await client.get("/mp/v1/decisions", params={"party": "某某餐饮", "agency": str(agency.agency.id),
                                                        "type": "penalty", "from": "2026-11-01", "to": "2026-11-30"})
    assert resp.status == 200
    body = await resp.json()
    assert body["next_cursor"] is None and len(body["items"]) == 1
    hit = body["items"][0]
    assert hit["id"] == d["id"] and hit["status"] == "corrected" and hit["corrected"] is True
    assert hit["version"] == 2 and "一千元" in hit["text"] and hit["url"].endswith(f"/d/{d['id']}")
    assert hit["party"] == "欧阳*、杭州某某餐饮有限公司"
    raw = await resp.text()
    for secret in ("欧阳明", "13900001111", "330102199001011234"):
        assert secret not in raw
    assert (await (await client.get("/mp/v1/decisions", params={"party": "欧阳明"})).json())["items"] == []
    exact = await client.get("/mp/v1/decisions", params={"document_no": d["document_no"]})
    assert [i["id"] for i in (await exact.json())["items"]] == [d["id"]]


async def test_bad_queries_are_refused_with_stable_codes(client):
    cases = [({"type": "fine"}, 422, "validation_error"), ({"from": "2026-13-01"}, 422, "validation_error"),
             ({"from": "0"}, 422, "validation_error"), ({"agency": "not-a-uuid"}, 422, "validation_error"),
             ({"from": "2026-02-01", "to": "2026-01-01"}, 422, "date_range_invalid"),
             ({"party": "星"}, 422, "party_too_short"), ({"party": "x" * 101}, 422, "validation_error"),
             ({"party": "星辰\x00"}, 422, "validation_error"), ({"page": "2"}, 422, "validation_error"),
             ({"cursor": "garbage"}, 400, "cursor_invalid"), ({"cursor": "A" * 201}, 422, "validation_error")]
    for params, status, code in cases:
        resp = await client.get("/mp/v1/decisions", params=params)
        assert resp.status == status, params
        body = await resp.json()
        assert body["error"]["code"] == code, params
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), params
    twice = await client.get("/mp/v1/decisions?party=星辰&party=明月")
    assert twice.status == 422


async def test_a_cursor_works_only_for_the_query_it_came_from(client):
    agency = await an_agency()
    for _ in range(21):  # one more than a page
        await _published(client, agency, "杭州星辰科技有限公司")
    first = await (await client.get("/mp/v1/decisions", params={"party": "星辰"})).json()
    assert len(first["items"]) == 20 and first["next_cursor"]
    params = {"party": "星辰", "cursor": first["next_cursor"]}
    second = await (await client.get("/mp/v1/decisions", params=params)).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    other = await client.get("/mp/v1/decisions", params={"party": "星辰科技", "cursor": first["next_cursor"]})
    assert other.status == 400 and (await other.json())["error"]["code"] == "cursor_mismatch"


async def test_the_h5_page_searches_without_script_and_names_no_person(client):
    agency = await an_agency()
    d = await _published(client, agency, "杭州某某餐饮有限公司")
    blank = await client.get("/d")
    assert blank.status == 200 and "<form method='get' action='/d'>" in await blank.text()
    assert "<script" not in await blank.text() and blank.headers["Content-Security-Policy"].startswith("default-src")
    # the form as a browser sends it: every field, the unused ones empty
    page = await client.get("/d", params={"party": "某某餐饮", "document_no": "", "type": "", "from": "", "to": ""})
    assert page.status == 200
    html = await page.text()
    assert f"/d/{d['id']}" in html and "杭州某某餐饮有限公司" in html and "欧阳*" in html
    assert "欧阳明" not in html and "13900001111" not in html
    nothing = await (await client.get("/d", params={"party": "欧阳明"})).text()
    assert "没有找到" in nothing
    bad = await client.get("/d", params={"party": "星"}, headers={"Accept": "text/html"})  # a browser
    assert bad.status == 422 and "text/html" in bad.headers["Content-Type"]


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC"),
                          timezone(timedelta(hours=-3, minutes=-30))])
_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=_ZONES)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# PostgreSQL's driver answers ids as its own UUID subclass, SQLite's rows as uuid.UUID.
_IDS = st.uuids() | st.uuids().map(lambda u: PgUUID(str(u)))
_HITS = st.builds(search.Hit, decision_id=_IDS, agency_id=_IDS, agency_name=_TEXT,
                  type=st.sampled_from(CaseType), document_no=_TEXT, decided_at=st.dates(),
                  status=st.sampled_from(DecisionStatus), version=st.integers(1, 10_000), published_at=_TIMES,
                  corrected_at=st.none() | _TIMES, party=_TEXT, text=_TEXT)


@settings(max_examples=300, deadline=None)
@given(hit=_HITS)
def test_a_hit_written_straight_to_json_is_byte_for_byte_the_documented_model(hit: search.Hit) -> None:
    # The search writes its hits without building SearchHitOut (hit_json): what goes out must stay
    # exactly what the OpenAPI schema, built from the model, promises: keys, order, time formats.
    conf = Settings.from_env({"YANGGUANG_PUBLIC_BASE_URL": "https://yangguang.example.gov.cn"})
    direct = dumps_hits(hit_json(hit, conf))
    model = SearchHitOut(id=hit.decision_id, agency_id=hit.agency_id, agency_name=hit.agency_name, type=hit.type,
                         document_no=hit.document_no, decided_at=hit.decided_at, status=hit.status,
                         corrected=hit.corrected_at is not None, corrected_at=hit.corrected_at, version=hit.version,
                         published_at=hit.published_at, party=hit.party, text=hit.text,
                         url=f"https://yangguang.example.gov.cn/d/{hit.decision_id}")
    assert direct == orjson.dumps(model.model_dump(mode="json"))
