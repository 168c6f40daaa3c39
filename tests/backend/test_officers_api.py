"""The officer register through the agency API."""

from __future__ import annotations

import uuid

from backend.models.enums import Role
from tests.factories import a_supervisor, an_agency, officer_body


async def test_an_admin_registers_an_officer_and_reads_it_back(client):
    agency = await an_agency()
    body = officer_body(name="李四", phone="13800138000", id_number="330102199001011234")
    resp = await client.post("/api/v1/officers", json=body, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["name"] == "李四"
    assert created["private"]["phone"] == "13800138000"
    uuid.UUID(created["id"])  # random id, not a sequence number

    resp = await client.get(f"/api/v1/officers/{created['id']}", headers=agency.auth())
    assert resp.status == 200
    assert (await resp.json())["certificate_no"] == body["certificate_no"]


async def test_officer_role_sees_no_private_fields(client):
    agency = await an_agency()
    await client.post("/api/v1/officers", json=officer_body(phone="13800138000"), headers=agency.auth())
    officer_key = await agency.key(Role.OFFICER)
    resp = await client.get("/api/v1/officers", headers=agency.auth(officer_key))
    page = await resp.json()
    assert page["total"] == 1
    assert page["items"][0]["private"] is None
    assert "13800138000" not in await resp.text()


async def test_officers_are_listed_in_pages(client):
    agency = await an_agency()
    for i in range(5):
        resp = await client.post("/api/v1/officers", json=officer_body(name=f"人员{i}"), headers=agency.auth())
        assert resp.status == 201
    resp = await client.get("/api/v1/officers?page=2&page_size=2", headers=agency.auth())
    page = await resp.json()
    assert (page["total"], page["page"], len(page["items"])) == (5, 2, 2)
    assert [o["name"] for o in page["items"]] == ["人员2", "人员3"]


async def test_patch_changes_only_the_given_fields(client):
    agency = await an_agency()
    created = await (await client.post("/api/v1/officers", json=officer_body(), headers=agency.auth())).json()
    resp = await client.patch(f"/api/v1/officers/{created['id']}", json={"region": "杭州市"},
                              headers=agency.auth())
    assert resp.status == 200
    patched = await resp.json()
    assert patched["region"] == "杭州市"
    assert patched["name"] == created["name"]


async def test_an_agency_never_sees_or_changes_another_agencys_officers(client):
    mine, theirs = await an_agency("甲局"), await an_agency("乙局")
    created = await (await client.post("/api/v1/officers", json=officer_body(), headers=theirs.auth())).json()
    url = f"/api/v1/officers/{created['id']}"
    assert (await client.get(url, headers=mine.auth())).status == 404
    resp = await client.patch(url, json={"name": "篡改"}, headers=mine.auth())
    assert resp.status == 404
    assert (await client.get("/api/v1/officers", headers=mine.auth())).status == 200
    assert (await (await client.get("/api/v1/officers", headers=mine.auth())).json())["total"] == 0
    resp = await client.get(f"/api/v1/officers?agency_id={theirs.agency.id}", headers=mine.auth())
    assert resp.status == 403
    assert (await (await client.get(url, headers=theirs.auth())).json())["name"] == created["name"]


async def test_a_supervisor_sees_every_agencys_officers_but_cannot_register_them(client):
    agency, supervisor = await an_agency(), await a_supervisor()
    await client.post("/api/v1/officers", json=officer_body(), headers=agency.auth())
    resp = await client.get(f"/api/v1/officers?agency_id={agency.agency.id}", headers=supervisor.auth())
    assert (await resp.json())["total"] == 1
    resp = await client.post("/api/v1/officers", json=officer_body(), headers=supervisor.auth())
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "role_forbidden"


async def test_duplicate_certificate_numbers_are_refused(client):
    agency = await an_agency()
    body = officer_body()
    assert (await client.post("/api/v1/officers", json=body, headers=agency.auth())).status == 201
    resp = await client.post("/api/v1/officers", json={**body, "name": "另一个"}, headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "certificate_no_taken"


async def test_auxiliary_staff_carry_no_certificate(client):
    agency = await an_agency()
    resp = await client.post("/api/v1/officers", json=officer_body(kind="auxiliary"), headers=agency.auth())
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "auxiliary_has_no_certificate"
    body = officer_body(kind="auxiliary")
    del body["certificate_no"]
    assert (await client.post("/api/v1/officers", json=body, headers=agency.auth())).status == 201


async def test_every_change_is_in_the_audit_trail_without_private_values(client):
    agency = await an_agency()
    created = await (await client.post("/api/v1/officers", json=officer_body(phone="13800138000"),
                                       headers=agency.auth())).json()
    await client.patch(f"/api/v1/officers/{created['id']}", json={"phone": "13900139000"}, headers=agency.auth())
    resp = await client.get(f"/api/v1/audit?target_id={created['id']}", headers=agency.auth())
    trail = await resp.json()
    assert [e["action"] for e in trail["items"]] == ["officer.update", "officer.create"]
    assert all(e["actor"].startswith("key:") and e["source"] for e in trail["items"])
    assert "13800138000" not in await resp.text() and "13900139000" not in await resp.text()
    other = await an_agency("乙局")
    assert (await (await client.get(f"/api/v1/audit?target_id={created['id']}",
                                    headers=other.auth())).json())["total"] == 0


async def test_a_certificate_number_held_elsewhere_answers_exactly_like_one_held_at_home(client):
    mine, theirs = await an_agency("甲局"), await an_agency("乙局保密")
    home, elsewhere = officer_body(), officer_body()
    assert (await client.post("/api/v1/officers", json=home, headers=mine.auth())).status == 201
    created = await (await client.post("/api/v1/officers", json=elsewhere, headers=theirs.auth())).json()
    at_home = await client.post("/api/v1/officers", json={**home, "name": "另一个"}, headers=mine.auth())
    held = await client.post("/api/v1/officers", json={**elsewhere, "name": "另一个"}, headers=mine.auth())
    assert at_home.status == held.status == 409
    assert await at_home.json() == await held.json()  # the same answer: nothing about who holds it
    text = await held.text()
    for secret in ("乙局保密", str(theirs.agency.id), created["id"], created["name"]):
        assert secret not in text
