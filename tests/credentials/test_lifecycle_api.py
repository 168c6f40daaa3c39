"""The credential lifecycle through the agency API: every transition, its audit entry, and the scoping."""

from __future__ import annotations

import uuid
from datetime import timedelta

from backend.models import AuditEvent, Credential
from backend.models.enums import Role
from tests.conftest import PUBLIC_BASE
from tests.credentials.support import a_credential, act, an_officer, next_year
from tests.factories import a_supervisor, an_agency


async def test_issuing_answers_the_token_and_a_verify_url_on_the_public_origin(client, clock):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    assert cred["status"] == "valid"
    assert cred["valid_from"] == clock.today().isoformat()
    assert len(cred["token"]) == 30
    assert cred["verify_url"] == f"{PUBLIC_BASE}/v/{cred['token']}"
    row = await Credential.get(id=cred["id"])
    assert cred["token"] not in (row.token_hash, row.token_seed)  # the database never holds the token
    audit = await AuditEvent.filter(target_id=cred["id"], action="credential.issue").first()
    assert audit is not None and audit.actor.startswith("key:")


async def test_auxiliary_staff_get_no_credential(client, clock):
    agency = await an_agency()
    aux = await an_officer(client, agency, kind="auxiliary", certificate_no=None)
    resp = await client.post(f"/api/v1/officers/{aux['id']}/credentials", json={"valid_until": next_year(clock)},
                             headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "auxiliary_staff_hold_no_credential"
    assert await Credential.all().count() == 0


async def test_an_officer_holds_one_current_credential(client, clock):
    agency = await an_agency()
    officer = await an_officer(client, agency)
    await a_credential(client, agency, officer)
    resp = await client.post(f"/api/v1/officers/{officer['id']}/credentials", json={"valid_until": next_year(clock)},
                             headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "credential_exists"


async def test_validity_must_make_sense(client, clock):
    agency = await an_agency()
    officer = await an_officer(client, agency)
    url = f"/api/v1/officers/{officer['id']}/credentials"
    today = clock.today()
    past = (today - timedelta(days=1)).isoformat()
    for body, code in [({"valid_until": past}, "validity_in_past"),
                       ({"valid_from": next_year(clock), "valid_until": today.isoformat()}, "validity_reversed"),
                       ({"valid_until": (clock.today() + timedelta(days=4000)).isoformat()}, "validity_too_long")]:
        resp = await client.post(url, json=body, headers=agency.auth())
        assert resp.status == 422, body
        assert (await resp.json())["error"]["code"] == code


async def test_suspend_needs_a_reason_then_reinstate_and_revoke_is_final(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    resp = await act(client, agency, cred["id"], "suspend")
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "reason_required"
    resp = await act(client, agency, cred["id"], "suspend", reason="涉嫌违规执法，调查期间暂扣")
    assert resp.status == 200
    assert (await resp.json())["status"] == "suspended"
    resp = await act(client, agency, cred["id"], "reinstate", reason="调查结束")
    assert (await resp.json())["status"] == "valid"
    resp = await act(client, agency, cred["id"], "revoke", reason="调离执法岗位")
    assert (await resp.json())["status"] == "revoked"
    for action in ("reinstate", "suspend", "reissue"):
        resp = await act(client, agency, cred["id"], action, reason="再试")
        assert resp.status == 409, action
        assert (await resp.json())["error"]["code"] == f"credential_{action}_not_allowed"
    actions = await AuditEvent.filter(target_id=cred["id"]).order_by("id").values_list("action", flat=True)
    assert actions == ["credential.issue", "credential.suspend", "credential.reinstate", "credential.revoke"]
    suspend = await AuditEvent.get(target_id=cred["id"], action="credential.suspend")
    assert suspend.data == {"from": "valid", "to": "suspended", "reason": "涉嫌违规执法，调查期间暂扣"}


async def test_reissue_voids_the_old_card_and_answers_a_new_token(client):
    agency = await an_agency()
    old = await a_credential(client, agency)
    resp = await act(client, agency, old["id"], "reissue", reason="证件遗失")
    assert resp.status == 201
    new = await resp.json()
    assert new["token"] != old["token"] and new["id"] != old["id"]
    assert new["status"] == "valid"
    got = await (await client.get(f"/api/v1/credentials/{old['id']}", headers=agency.auth())).json()
    assert (got["status"], got["replaced_by_id"]) == ("void", new["id"])


async def test_reissuing_a_suspended_card_keeps_the_suspension(client):
    agency = await an_agency()
    old = await a_credential(client, agency)
    await act(client, agency, old["id"], "suspend", reason="暂扣")
    new = await (await act(client, agency, old["id"], "reissue")).json()
    assert new["status"] == "suspended"


async def test_expiry_is_computed_on_read_and_persisted_by_the_cron(client, clock):
    from backend.services.disclosure.credentials import expire_due

    agency = await an_agency()
    cred = await a_credential(client, agency, valid_until=clock.today().isoformat())
    assert (await (await client.get(f"/api/v1/credentials/{cred['id']}", headers=agency.auth())).json())[
        "status"] == "valid"
    await Credential.filter(id=cred["id"]).update(valid_until=clock.today() - timedelta(days=1))
    got = await (await client.get(f"/api/v1/credentials/{cred['id']}", headers=agency.auth())).json()
    assert got["status"] == "expired"
    assert (await Credential.get(id=cred["id"])).status == "valid"  # not yet persisted
    assert await expire_due(clock) == 1
    assert (await Credential.get(id=cred["id"])).status == "expired"
    assert await expire_due(clock) == 0  # running twice is harmless
    assert await AuditEvent.filter(target_id=cred["id"], action="credential.expire").count() == 1


async def test_an_agency_never_touches_another_agencys_credentials(client, clock):
    mine, theirs = await an_agency("甲局"), await an_agency("乙局")
    theirs_officer = await an_officer(client, theirs)
    cred = await a_credential(client, theirs, theirs_officer)
    resp = await client.post(f"/api/v1/officers/{theirs_officer['id']}/credentials",
                             json={"valid_until": next_year(clock)}, headers=mine.auth())
    assert resp.status == 404
    for action in ("suspend", "reinstate", "revoke", "reissue"):
        resp = await act(client, mine, cred["id"], action, reason="越权")
        assert resp.status == 404, action
        assert (await resp.json())["error"]["code"] == "credential_not_found"
    for suffix in ("", "/qr.png", "/qr.svg"):
        assert (await client.get(f"/api/v1/credentials/{cred['id']}{suffix}", headers=mine.auth())).status == 404
    resp = await client.post("/api/v1/credentials/print-sheet", json={"credential_ids": [cred["id"]]},
                             headers=mine.auth())
    assert resp.status == 404
    assert (await client.get(f"/api/v1/officers/{theirs_officer['id']}/scans", headers=mine.auth())).status == 404
    assert (await Credential.get(id=cred["id"])).status == "valid"


async def test_scans_are_listed_for_the_agency_and_ratings_only_for_the_supervisor(client):
    agency, supervisor = await an_agency(), await a_supervisor()
    officer = await an_officer(client, agency)
    cred = await a_credential(client, agency, officer)
    assert (await client.get(f"/v/{cred['token']}")).status == 200
    assert (await client.get(f"/mp/v1/verify/{cred['token']}?lat=30.274812&lng=120.155123")).status == 200
    resp = await client.post("/mp/v1/ratings", json={"token": cred["token"], "score": 2, "text": "态度一般"})
    assert resp.status == 201

    scans = await (await client.get(f"/api/v1/officers/{officer['id']}/scans", headers=agency.auth())).json()
    assert scans["total"] == 2
    by_channel = {s["channel"]: s for s in scans["items"]}
    assert by_channel["h5"]["latitude"] is None
    assert (float(by_channel["miniprogram"]["latitude"]), float(by_channel["miniprogram"]["longitude"])) == (
        30.27, 120.16)
    assert all(s["status_shown"] == "valid" for s in scans["items"])

    resp = await client.get(f"/api/v1/officers/{officer['id']}/ratings", headers=agency.auth())
    assert resp.status == 403  # the officer's own agency never sees ratings
    head = await agency.key(Role.HEAD)
    assert (await client.get(f"/api/v1/officers/{officer['id']}/ratings", headers=agency.auth(head))).status == 403
    resp = await client.get(f"/api/v1/officers/{officer['id']}/ratings", headers=supervisor.auth())
    ratings = await resp.json()
    assert [(r["score"], r["text"]) for r in ratings["items"]] == [(2, "态度一般")]
    scans = await (await client.get(f"/api/v1/officers/{officer['id']}/scans", headers=supervisor.auth())).json()
    assert scans["total"] == 2


async def test_unknown_ids_are_not_found(client):
    agency = await an_agency()
    resp = await act(client, agency, str(uuid.uuid4()), "suspend", reason="x")
    assert resp.status == 404


async def test_the_embedded_server_persists_expiry_by_itself(client, clock):
    import asyncio

    from backend.app_keys import SCHEDULER
    from backend.periodic import EmbeddedScheduler

    agency = await an_agency()
    cred = await a_credential(client, agency, valid_until=clock.today().isoformat())
    await Credential.filter(id=cred["id"]).update(valid_until=clock.today() - timedelta(days=1))
    served = client.app[SCHEDULER]
    assert "expire_credentials" in [job.name for job in served.jobs]
    # The server's own schedule, with its half-hour period shortened to milliseconds.
    fast = EmbeddedScheduler([j for j in served.jobs if j.name == "expire_credentials"], served.ctx, scale=1e-5)
    fast.start()
    try:
        for _ in range(100):
            if (await Credential.get(id=cred["id"])).status == "expired":
                break
            await asyncio.sleep(0.05)
    finally:
        await fast.stop()
    assert (await Credential.get(id=cred["id"])).status == "expired"


async def test_an_officer_who_departs_loses_every_card_at_once_and_the_next_scan_says_so(client):
    agency = await an_agency()
    officer = await an_officer(client, agency)
    cred = await a_credential(client, agency, officer)
    assert (await (await client.get(f"/mp/v1/verify/{cred['token']}")).json())["status"] == "valid"  # cached now
    resp = await client.patch(f"/api/v1/officers/{officer['id']}", json={"status": "departed"}, headers=agency.auth())
    assert resp.status == 200, await resp.text()
    scan = await (await client.get(f"/mp/v1/verify/{cred['token']}")).json()
    assert (scan["status"], scan["status_text"]) == ("void", "已作废")
    page = await (await client.get(f"/v/{cred['token']}")).text()
    assert "已作废" in page and "离岗" in page
    got = await (await client.get(f"/api/v1/credentials/{cred['id']}", headers=agency.auth())).json()
    assert got["status"] == "void"
    audit = await AuditEvent.get(target_id=cred["id"], action="credential.officer_departed")
    assert audit.data == {"from": "valid", "to": "void"}


async def test_a_card_whose_validity_has_not_begun_shows_not_yet_valid_everywhere(client, clock):
    agency = await an_agency()
    start = clock.today() + timedelta(days=3)
    cred = await a_credential(client, agency, valid_from=start.isoformat(),
                              valid_until=(start + timedelta(days=365)).isoformat())
    assert cred["status"] == "not_yet_valid"
    scan = await (await client.get(f"/mp/v1/verify/{cred['token']}")).json()
    assert (scan["status"], scan["status_text"]) == ("not_yet_valid", "未生效")
    assert "未生效" in await (await client.get(f"/v/{cred['token']}")).text()
    # Suspending it works as on a valid card; the stored state stays one of the table's.
    resp = await act(client, agency, cred["id"], "suspend", reason="核查中")
    assert (resp.status, (await resp.json())["status"]) == (200, "suspended")


async def test_the_supervisor_may_suspend_and_revoke_any_agencys_cards_but_not_reinstate(client):
    agency, supervisor = await an_agency(), await a_supervisor()
    cred = await a_credential(client, agency)
    resp = await act(client, supervisor, cred["id"], "suspend", reason="司法局通报：违规执法")
    assert (resp.status, (await resp.json())["status"]) == (200, "suspended"), await resp.text()
    assert (await (await client.get(f"/mp/v1/verify/{cred['token']}")).json())["status"] == "suspended"
    assert (await act(client, supervisor, cred["id"], "reinstate", reason="x")).status == 403
    resp = await act(client, supervisor, cred["id"], "revoke", reason="司法局决定注销")
    assert (resp.status, (await resp.json())["status"]) == (200, "revoked")
    audit = await AuditEvent.get(target_id=cred["id"], action="credential.revoke")
    assert audit.agency_id == agency.agency.id and audit.actor.startswith("key:")


async def test_the_print_sheet_refuses_cards_that_are_not_valid_today_naming_each(client, clock):
    agency = await an_agency()
    good = await a_credential(client, agency)
    held = await a_credential(client, agency, await an_officer(client, agency, name="李四"))
    assert (await act(client, agency, held["id"], "suspend", reason="调查")).status == 200
    early = await a_credential(client, agency, await an_officer(client, agency, name="王五"),
                               valid_from=(clock.today() + timedelta(days=5)).isoformat())
    resp = await client.post("/api/v1/credentials/print-sheet",
                             json={"credential_ids": [good["id"], held["id"], early["id"]]}, headers=agency.auth())
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "credentials_not_printable"
    assert "李四（暂扣）" in error["message"] and "王五（未生效）" in error["message"]
    assert {d["credential_id"]: d["status"] for d in error["details"]} == {held["id"]: "suspended",
                                                                          early["id"]: "not_yet_valid"}
    resp = await client.post("/api/v1/credentials/print-sheet", json={"format": "png"}, headers=agency.auth())
    assert resp.status == 200  # without a selection: the valid cards only
