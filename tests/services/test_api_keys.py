"""API keys without HTTP (A.5): each belongs to one person or named system, is stored hashed, and an
agency can never lock itself out."""

from __future__ import annotations

import pytest

from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import ApiKey, AuditEvent
from backend.models.enums import Role
from backend.services import apikeys, audit, officers
from backend.services.apikeys import KeyHolder
from tests.factories import a_supervisor, an_agency, officer_body


@pytest.mark.parametrize("holder", [KeyHolder(), KeyHolder(person_name="  "),
                                    KeyHolder(person_name="王五", system_name="对接系统")])
async def test_a_key_needs_exactly_one_holder(db, holder):
    agency = (await an_agency()).agency
    with pytest.raises(ValidationFailed) as exc:
        await apikeys.create_key(agency, Role.OFFICER, "k", "test", holder)
    assert exc.value.code == "key_holder_required"


async def test_a_key_is_stored_hashed_and_authenticates_as_its_holder(db, clock):
    agency = (await an_agency()).agency
    officer = await officers.create_officer(agency.id, officer_body(name="赵六"), "test")
    row, key = await apikeys.create_key(agency, Role.OFFICER, "手机", "test", KeyHolder(officer_id=officer.id))
    stored = await ApiKey.get(id=row.id)
    assert key not in (stored.key_hash, stored.prefix) and stored.key_hash == apikeys.hash_key(key)
    principal = await apikeys.authenticate(key, clock)
    assert principal is not None and (principal.holder, principal.role) == ("赵六", Role.OFFICER)
    assert await apikeys.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"), clock) is None
    assert await apikeys.authenticate("garbage", clock) is None


async def test_an_officer_of_another_agency_cannot_hold_our_key(db):
    mine, theirs = (await an_agency("甲局")).agency, (await an_agency("乙局")).agency
    stranger = await officers.create_officer(theirs.id, officer_body(), "test")
    with pytest.raises(NotFound) as exc:
        await apikeys.create_key(mine, Role.OFFICER, "k", "test", KeyHolder(officer_id=stranger.id))
    assert exc.value.code == "officer_not_found"


async def test_supervisor_keys_only_for_supervising_bodies_and_vice_versa(db):
    agency, supervisor = (await an_agency()).agency, (await a_supervisor()).agency
    with pytest.raises(Conflict) as exc:
        await apikeys.create_key(agency, Role.SUPERVISOR, "k", "test", KeyHolder(person_name="甲"))
    assert exc.value.code == "supervisor_key_for_agency"
    with pytest.raises(Conflict) as exc:
        await apikeys.create_key(supervisor, Role.ADMIN, "k", "test", KeyHolder(person_name="乙"))
    assert exc.value.code == "agency_key_for_supervisor"


async def test_the_last_admin_key_cannot_be_revoked(db, clock):
    agency = (await an_agency()).agency
    first = await ApiKey.get(agency_id=agency.id, role=Role.ADMIN)
    with pytest.raises(Conflict) as exc:
        await apikeys.revoke_key(agency.id, first.id, "test", clock)
    assert exc.value.code == "last_admin_key"
    second, _ = await apikeys.create_key(agency, Role.ADMIN, "备用", "test", KeyHolder(person_name="钱七"))
    await apikeys.revoke_key(agency.id, first.id, "test", clock)
    with pytest.raises(Conflict):
        await apikeys.revoke_key(agency.id, second.id, "test", clock)


async def test_audit_entries_name_the_person_and_role_behind_the_acting_key(db):
    agency = (await an_agency()).agency
    token = audit.acting_as.set(("admin", "孙八"))
    try:
        await audit.record("key:abc", "officer.create", "officer", "x", agency_id=agency.id)
        await audit.record("system:expiry", "credential.expire", "credential", "y", agency_id=agency.id)
    finally:
        audit.acting_as.reset(token)
    rows = await AuditEvent.filter(target_id__in=["x", "y"]).order_by("id")
    assert [(r.actor_name, r.actor_role) for r in rows] == [("孙八", "admin"), ("system:expiry", "system")]
