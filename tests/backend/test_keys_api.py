"""API keys: created with a role, shown once, stored as a hash, listed and revoked."""

from __future__ import annotations

from backend.models import ApiKey
from backend.services.apikeys import hash_key
from tests.factories import a_supervisor, an_agency


async def test_an_admin_creates_a_key_that_is_shown_once_and_stored_as_a_hash(client):
    agency = await an_agency()
    resp = await client.post("/api/v1/keys", json={"role": "reviewer", "name": "法制科"}, headers=agency.auth())
    assert resp.status == 201
    created = await resp.json()
    key = created["key"]
    row = await ApiKey.get(id=created["id"])
    assert row.key_hash == hash_key(key) and key not in row.key_hash
    listed = await (await client.get("/api/v1/keys", headers=agency.auth())).json()
    assert {k["role"] for k in listed["items"]} == {"admin", "reviewer"}
    assert all("key" not in k for k in listed["items"])
    assert key not in str(listed)


async def test_an_agency_cannot_mint_supervisor_keys_nor_revoke_anothers(client):
    agency, other = await an_agency(), await an_agency("乙局")
    resp = await client.post("/api/v1/keys", json={"role": "supervisor"}, headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "supervisor_key_for_agency"
    other_keys = await (await client.get("/api/v1/keys", headers=other.auth())).json()
    resp = await client.post(f"/api/v1/keys/{other_keys['items'][0]['id']}/revoke", headers=agency.auth())
    assert resp.status == 404
    assert (await client.get("/api/v1/officers", headers=other.auth())).status == 200


async def test_a_supervisor_can_mint_supervisor_keys(client):
    supervisor = await a_supervisor()
    resp = await client.post("/api/v1/keys", json={"role": "supervisor"}, headers=supervisor.auth())
    assert resp.status == 201


async def test_use_of_a_key_is_recorded(client):
    agency = await an_agency()
    assert (await client.get("/api/v1/officers", headers=agency.auth())).status == 200
    listed = await (await client.get("/api/v1/keys", headers=agency.auth())).json()
    assert listed["items"][0]["last_used_at"] is not None
