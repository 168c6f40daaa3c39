"""API keys: created with a role for a named holder, shown once, stored as a hash, listed and revoked;
every audit entry made with a key names its holder and role."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.models import ApiKey, AuditEvent
from backend.services.apikeys import hash_key
from tests.factories import a_supervisor, an_agency, credit_code, officer_body
from tests.support.processes import cli_env


async def test_an_admin_creates_a_key_for_a_named_person_shown_once_and_stored_as_a_hash(client):
    agency = await an_agency()
    resp = await client.post("/api/v1/keys", json={"role": "reviewer", "name": "法制科", "person_name": "赵敏"},
                             headers=agency.auth())
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    key = created["key"]
    assert created["person_name"] == "赵敏"
    row = await ApiKey.get(id=created["id"])
    assert row.key_hash == hash_key(key) and key not in row.key_hash
    listed = await (await client.get("/api/v1/keys", headers=agency.auth())).json()
    assert {k["role"] for k in listed["items"]} == {"admin", "reviewer"}
    assert all("key" not in k for k in listed["items"])
    assert key not in str(listed)


@pytest.mark.parametrize("holder", [{}, {"person_name": "  "}, {"person_name": "赵敏", "system_name": "办案系统"}])
async def test_a_key_without_exactly_one_holder_is_refused(client, holder):
    agency = await an_agency()
    resp = await client.post("/api/v1/keys", json={"role": "officer", **holder}, headers=agency.auth())
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "key_holder_required"
    assert await ApiKey.filter(agency_id=agency.agency.id).count() == 1


async def test_a_key_for_an_officer_names_that_officer_in_every_audit_entry(client):
    agency, other = await an_agency(), await an_agency("乙局")
    officer = await (await client.post("/api/v1/officers", json=officer_body(name="李执法"),
                                       headers=agency.auth())).json()
    foreign = await (await client.post("/api/v1/officers", json=officer_body(), headers=other.auth())).json()
    resp = await client.post("/api/v1/keys", json={"role": "admin", "officer_id": foreign["id"]},
                             headers=agency.auth())
    assert resp.status == 404  # another agency's officer cannot hold this agency's key
    resp = await client.post("/api/v1/keys", json={"role": "admin", "officer_id": officer["id"]},
                             headers=agency.auth())
    key = (await resp.json())["key"]
    made = await (await client.post("/api/v1/officers", json=officer_body(), headers={
        "Authorization": f"Bearer {key}"})).json()
    entry = await AuditEvent.get(target_id=made["id"], action="officer.create")
    assert (entry.actor_name, entry.actor_role) == ("李执法", "admin")
    first = await AuditEvent.get(target_id=officer["id"], action="officer.create")
    assert (first.actor_name, first.actor_role) == ("测试管理员", "admin")


async def test_no_key_can_mint_supervisor_keys_and_another_agencys_keys_are_out_of_reach(client):
    agency, other, supervisor = await an_agency(), await an_agency("乙局"), await a_supervisor()
    for who in (agency, supervisor):
        resp = await client.post("/api/v1/keys", json={"role": "supervisor", "person_name": "某人"},
                                 headers=who.auth())
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "supervisor_key_by_operator_only"
    other_keys = await (await client.get("/api/v1/keys", headers=other.auth())).json()
    resp = await client.post(f"/api/v1/keys/{other_keys['items'][0]['id']}/revoke", headers=agency.auth())
    assert resp.status == 404
    assert (await client.get("/api/v1/officers", headers=other.auth())).status == 200


async def test_an_agency_cannot_revoke_its_last_admin_key(client):
    agency = await an_agency()
    [only] = (await (await client.get("/api/v1/keys", headers=agency.auth())).json())["items"]
    resp = await client.post(f"/api/v1/keys/{only['id']}/revoke", headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "last_admin_key"
    second = await (await client.post("/api/v1/keys", json={"role": "admin", "person_name": "钱二"},
                                      headers=agency.auth())).json()
    resp = await client.post(f"/api/v1/keys/{only['id']}/revoke", headers={"Authorization": f"Bearer {second['key']}"})
    assert resp.status == 200
    assert (await client.get("/api/v1/officers", headers=agency.auth())).status == 401


async def test_use_of_a_key_is_recorded(client):
    agency = await an_agency()
    assert (await client.get("/api/v1/officers", headers=agency.auth())).status == 200
    listed = await (await client.get("/api/v1/keys", headers=agency.auth())).json()
    assert listed["items"][0]["last_used_at"] is not None


def test_the_operator_creates_supervisor_keys_for_a_named_person(tmp_path: Path):
    env = cli_env(f"sqlite://{tmp_path / 'y.sqlite3'}", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "supervisor", "create", "--name", "某区司法局",
                           "--code", credit_code(), "--person", "孙监督"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    key = proc.stdout.strip().splitlines()[-1]
    assert key.startswith("yg_")
    listed = subprocess.run([sys.executable, "-m", "backend.cli", "key", "list", "--code",
                             proc.stdout.split("（")[1].split("）")[0]], env=env, capture_output=True, text=True,
                            timeout=60)
    assert "supervisor" in listed.stdout and "孙监督" in listed.stdout, listed.stdout + listed.stderr
