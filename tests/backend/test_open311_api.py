"""Open311 GeoReport v2 over HTTP (issue 12 item 7): discovery, a 12345 hotline filing a complaint with
its integrator key, reading its status back (open → closed as the agency answers), bad input in the
GeoReport error shape, absent/forged/wrong-role keys, and BOLA between two integrators."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.models import AuditEvent, Complaint
from backend.models.enums import Role
from backend.services.apikeys import KeyHolder, create_key
from tests.factories import AgencyWithKeys, a_supervisor, an_agency

BASE = "/open311/v2"


async def _integrator(owner: AgencyWithKeys, system: str) -> str:
    _, key = await create_key(owner.agency, Role.INTEGRATOR, system, "test", KeyHolder(system_name=system))
    return key


def _form(key: str | None, agency_id: Any, **extra: str) -> dict[str, str]:
    form = {"service_code": "complaint", "attribute[agency_id]": str(agency_id),
            "description": "来电人张先生反映：执法人员态度粗暴，我的电话 13800138000，住在文三路 88 号 3 单元 502 室",
            "first_name": "先生", "last_name": "张", "phone": "13800138000", "email": "zhang@example.com",
            "lat": "30.274085", "long": "120.15507", "address_string": "文三路与学院路口", **extra}
    if key is not None:
        form["api_key"] = key
    return form


def _errors(body: Any) -> list[str]:
    assert isinstance(body, list) and body, body
    for item in body:
        assert set(item) == {"code", "description"}, item
        assert item["code"].replace("_", "").isalnum() and any("\u4e00" <= ch <= "\u9fff" for ch in item["description"])
    return [item["code"] for item in body]


async def test_discovery_lists_the_three_kinds_and_the_agencies_a_request_may_name(client):
    a, sup = await an_agency("甲局"), await a_supervisor()
    services = await client.get(f"{BASE}/services.json")
    assert services.status == 200
    body = await services.json()
    assert [s["service_code"] for s in body] == ["complaint", "report", "suggestion"]
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in body)
    definition = await (await client.get(f"{BASE}/services/report.json")).json()
    agency_attr = next(x for x in definition["attributes"] if x["code"] == "agency_id")
    assert agency_attr["required"] and agency_attr["datatype"] == "singlevaluelist"
    keys = {v["key"] for v in agency_attr["values"]}
    assert str(a.agency.id) in keys and str(sup.agency.id) not in keys  # the supervisor handles no complaint
    missing = await client.get(f"{BASE}/services/graffiti.json")
    assert missing.status == 404 and _errors(await missing.json()) == ["service_not_found"]
    xml = await client.get(f"{BASE}/services.xml")  # JSON only: GeoReport's error shape even for a path we lack
    assert xml.status == 404 and _errors(await xml.json()) == ["not_found"]


async def test_a_hotline_files_a_complaint_that_is_one_like_any_other_and_follows_it_to_closed(client):
    a, sup = await an_agency("甲局"), await a_supervisor()
    key = await _integrator(sup, "市12345政务服务便民热线")
    resp = await client.post(f"{BASE}/requests.json", data=_form(key, a.agency.id))
    assert resp.status == 201, await resp.text()
    [posted] = await resp.json()
    number = posted["service_request_id"]
    assert posted["query_code"] and isinstance(posted["leaf_index"], int) and "前答复" in posted["service_notice"]
    row = await Complaint.get(tracking_no=number)
    # The same intake: the agency's complaint, its leaf, anonymous (the hotline keeps the caller).
    assert row.agency_id == a.agency.id and row.channel == "open311" and row.leaf_index == posted["leaf_index"]
    assert row.anonymous and row.contact_phone is None and row.latitude is not None and float(row.latitude) == 30.27
    audit = await AuditEvent.get(action="complaint.submit", target_id=str(row.id))
    assert audit.actor_role == "integrator" and audit.actor_name == "系统：市12345政务服务便民热线"
    # The caller's name and e-mail were never stored anywhere in the complaint.
    assert "zhang@example.com" not in str(row.__dict__) and "先生" not in row.text.replace("张先生", "")
    # The mini-program follows it with the same receipt.
    mp = await client.get(f"/mp/v1/complaints/{number}", headers={"X-Query-Code": posted["query_code"]})
    assert mp.status == 200
    # Its status, as the hotline reads it: open, masked, Beijing time.
    one = await client.get(f"{BASE}/requests/{number}.json", params={"api_key": key})
    assert one.status == 200, await one.text()
    [seen] = await one.json()
    assert seen["status"] == "open" and seen["agency_responsible"] == "甲局" and seen["service_code"] == "complaint"
    assert "13800138000" not in seen["description"] and "502" not in seen["description"]
    assert seen["requested_datetime"].endswith("+08:00") and seen["expected_datetime"].endswith("23:59:59+08:00")
    assert datetime.fromisoformat(seen["updated_datetime"]) == datetime.fromisoformat(seen["requested_datetime"])
    # The agency answers: closed, with the (masked) answer in status_notes.
    head = a.auth(await a.key(Role.HEAD))
    url = f"/api/v1/complaints/{row.id}"
    assert (await client.post(url + "/acknowledge", headers=head)).status == 200
    ans = await client.post(url + "/answer", json={"answer": "已核实并批评教育，联系电话 13900139000"}, headers=head)
    assert ans.status == 200
    [closed] = await (await client.get(f"{BASE}/requests/{number}.json",
                                       headers={"Authorization": f"Bearer {key}"})).json()
    assert closed["status"] == "closed" and closed["status_notes"].startswith("已答复：已核实并批评教育")
    assert "13900139000" not in closed["status_notes"]
    assert datetime.fromisoformat(closed["updated_datetime"]) >= datetime.fromisoformat(closed["requested_datetime"])
    listed = await (await client.get(f"{BASE}/requests.json", params={"api_key": key, "status": "closed"})).json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert await (await client.get(f"{BASE}/requests.json", params={"api_key": key, "status": "open"})).json() == []


async def test_a_request_about_a_case_or_a_decision_of_the_named_agency(client):
    a, b = await an_agency("甲局"), await an_agency("乙局")
    key = await _integrator(a, "区12345分中心")
    unknown_case = await client.post(f"{BASE}/requests.json", data=_form(key, a.agency.id, **{
        "attribute[case_number]": "2026-NOPE"}))
    assert unknown_case.status == 404 and _errors(await unknown_case.json()) == ["complaint_subject_not_found"]
    # An integrator key of agency A may pass on a complaint about agency B (the hotline is city-wide).
    other = await client.post(f"{BASE}/requests.json", data=_form(key, b.agency.id, service_code="suggestion"))
    assert other.status == 201
    row = await Complaint.get(tracking_no=(await other.json())[0]["service_request_id"])
    assert row.agency_id == b.agency.id and row.kind.value == "suggestion"


@pytest.mark.parametrize("change,status,code", [
    ({"service_code": "pothole"}, 404, "service_not_found"),
    ({"attribute[agency_id]": "not-a-uuid"}, 422, "validation_error"),
    ({"description": "   "}, 422, "validation_error"),
    ({"description": "很" * 4001}, 422, "validation_error"),
    ({"lat": "91"}, 422, "validation_error"),
    ({"lat": "nan"}, 422, "validation_error"),
    ({"long": ""}, 422, "location_invalid"),
    ({"media_url": "http://169.254.169.254/latest"}, 422, "validation_error"),
    ({"address_id": "123"}, 422, "validation_error"),
    ({"unknown_field": "x"}, 422, "validation_error"),
    ({"attribute[case_number]": "X1", "attribute[decision_id]": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10"}, 422,
     "attribute_conflict"),
])
async def test_bad_input_is_a_4xx_in_the_georeport_error_shape_and_files_nothing(client, change, status, code):
    a = await an_agency("甲局")
    key = await _integrator(a, "区12345分中心")
    form = {k: v for k, v in {**_form(key, a.agency.id), **change}.items()}
    resp = await client.post(f"{BASE}/requests.json", data=form)
    assert resp.status == status, await resp.text()
    assert _errors(await resp.json()) == [code]
    assert await Complaint.all().count() == 0


async def test_bodies_that_are_not_forms_are_refused_in_the_georeport_shape(client):
    a = await an_agency("甲局")
    key = await _integrator(a, "区12345分中心")
    auth = {"Authorization": f"Bearer {key}"}
    as_json = await client.post(f"{BASE}/requests.json", json=_form(None, a.agency.id), headers=auth)
    assert as_json.status == 415 and _errors(await as_json.json()) == ["unsupported_media_type"]
    not_utf8 = await client.post(f"{BASE}/requests.json", data=b"description=%FF%FE&service_code=complaint",
                                 headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert not_utf8.status == 400 and _errors(await not_utf8.json()) == ["malformed_form"]
    huge = await client.post(f"{BASE}/requests.json", data=b"a=" + b"x" * 60_000,
                             headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status == 413 and _errors(await huge.json()) == ["form_too_large"]
    bad_date = await client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}, headers=auth)
    assert bad_date.status == 422 and _errors(await bad_date.json()) == ["validation_error"]
    naive = await client.get(f"{BASE}/requests.json", params={"end_date": "2026-12-04T10:00:00"}, headers=auth)
    assert naive.status == 422
    bad_status = await client.get(f"{BASE}/requests.json", params={"status": "pending"}, headers=auth)
    assert bad_status.status == 422 and _errors(await bad_status.json()) == ["validation_error"]
    too_long = await client.get(f"{BASE}/requests.json", headers=auth, params={
        "start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"})
    assert too_long.status == 422 and _errors(await too_long.json()) == ["date_range_too_long"]


async def test_absent_forged_revoked_and_wrong_role_keys_are_401_and_403(client):
    a = await an_agency("甲局")
    key = await _integrator(a, "区12345分中心")
    officer_key = await a.key(Role.OFFICER)
    calls = [("POST", f"{BASE}/requests.json"), ("GET", f"{BASE}/requests.json"),
             ("GET", f"{BASE}/requests/T261204-7K3M-9Q2X.json")]
    for method, path in calls:
        absent = await client.request(method, path, data=_form(None, a.agency.id) if method == "POST" else None)
        assert absent.status == 401 and _errors(await absent.json()) == ["missing_api_key"], path
        for forged in ("yg_" + "A" * 43, "yg_short", key[:-1] + ("A" if key[-1] != "A" else "B")):
            resp = await client.request(method, path, params={"api_key": forged} if method == "GET" else None,
                                        data=_form(forged, a.agency.id) if method == "POST" else None)
            assert resp.status == 401 and _errors(await resp.json()) == ["invalid_api_key"], (path, forged)
        wrong = await client.request(method, path, headers={"Authorization": f"Bearer {officer_key}"},
                                     data=_form(None, a.agency.id) if method == "POST" else None)
        assert wrong.status == 403 and _errors(await wrong.json()) == ["role_forbidden"], path
    # An integrator key reaches nothing of the agency API.
    for path in ("/api/v1/complaints", "/api/v1/officers", "/api/v1/keys"):
        resp = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert resp.status == 403, path
    rows = await (await client.get("/api/v1/keys", headers=a.auth())).json()
    row = next(k for k in rows["items"] if k["role"] == "integrator")
    assert (await client.post(f"/api/v1/keys/{row['id']}/revoke", headers=a.auth())).status == 200
    revoked = await client.post(f"{BASE}/requests.json", data=_form(key, a.agency.id))
    assert revoked.status == 401 and _errors(await revoked.json()) == ["invalid_api_key"]
    assert await Complaint.all().count() == 0


async def test_an_integrator_key_belongs_to_a_named_system(client):
    a = await an_agency("甲局")
    resp = await client.post("/api/v1/keys", json={"role": "integrator", "person_name": "赵敏"}, headers=a.auth())
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "integrator_key_needs_system"
    ok = await client.post("/api/v1/keys", json={"role": "integrator", "system_name": "区12345分中心"},
                           headers=a.auth())
    assert ok.status == 201


async def test_an_integrator_reads_only_what_its_own_system_filed(client):
    a = await an_agency("甲局")
    sup = await a_supervisor()
    city = await _integrator(sup, "市12345热线")
    city_rotated = await _integrator(sup, "市12345热线")  # a new key of the same system keeps its history
    district = await _integrator(a, "区12345分中心")
    mine = (await (await client.post(f"{BASE}/requests.json", data=_form(city, a.agency.id))).json())[0]
    theirs = (await (await client.post(f"{BASE}/requests.json", data=_form(district, a.agency.id))).json())[0]
    mp = await client.post("/mp/v1/complaints", json={"kind": "complaint", "about": {
        "type": "agency", "agency_id": str(a.agency.id)}, "text": "小程序投诉"})
    from_phone = (await mp.json())["tracking_no"]
    for number in (theirs["service_request_id"], from_phone, "T261204-7K3M-9Q2X", "garbage"):
        resp = await client.get(f"{BASE}/requests/{number}.json", params={"api_key": city})
        assert resp.status == 404 and _errors(await resp.json()) == ["service_request_not_found"], number
    listed = await (await client.get(f"{BASE}/requests.json", params={
        "api_key": city_rotated, "service_request_id": ",".join(
            [mine["service_request_id"], theirs["service_request_id"], from_phone])})).json()
    assert [r["service_request_id"] for r in listed] == [mine["service_request_id"]]
    everything = await (await client.get(f"{BASE}/requests.json", params={"api_key": district})).json()
    assert [r["service_request_id"] for r in everything] == [theirs["service_request_id"]]


async def test_the_default_window_is_the_last_90_days_of_the_injected_clock(aiohttp_client, settings):
    from backend.app import create_app
    from backend.clock import SHANGHAI, FrozenClock

    clock = FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI))
    client = await aiohttp_client(create_app(settings, clock=clock))
    a = await an_agency("甲局")
    key = await _integrator(a, "区12345分中心")
    old = (await (await client.post(f"{BASE}/requests.json", data=_form(key, a.agency.id))).json())[0]
    clock.advance(days=91)
    new = (await (await client.post(f"{BASE}/requests.json", data=_form(key, a.agency.id))).json())[0]
    listed = await (await client.get(f"{BASE}/requests.json", params={"api_key": key})).json()
    assert [r["service_request_id"] for r in listed] == [new["service_request_id"]]
    start = (clock.now() - timedelta(days=95)).isoformat()
    end = (clock.now() - timedelta(days=10)).isoformat()
    window = await (await client.get(f"{BASE}/requests.json", params={"api_key": key, "start_date": start,
                                                                     "end_date": end})).json()
    assert [r["service_request_id"] for r in window] == [old["service_request_id"]]
    assert window[0]["requested_datetime"] == "2026-03-02T10:00:00+08:00"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_with_an_integrator_key_finds_no_server_error_on_open311(database, tmp_path, request):
    from tests.support.fuzzing import fuzz

    db_url = (f"sqlite://{tmp_path / 'data' / 'yangguang.sqlite3'}" if database == "sqlite"
              else request.getfixturevalue("pg_url"))
    result = fuzz(db_url, tmp_path / "data", max_examples=25, seed=20261205, database=database,
                  paths="^/open311/", integrator=True)
    assert result.test_cases >= 100
    assert result.ok, result.failures
