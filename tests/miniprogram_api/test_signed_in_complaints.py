"""A named complaint filed with the mini-program session (issue 12 item 4, "or the WeChat session"):
no SMS code, the signed-in person is the complainant and finds it among their own, nobody else does,
and the openid never appears in any answer, the agency's included."""

from __future__ import annotations

from typing import Any

from backend.models import Complaint, MpSession
from tests.credentials.support import a_credential, an_officer
from tests.factories import an_agency
from tests.support.parties import sign_in


async def _file(client, token: str, headers: dict[str, str] | None = None) -> Any:  # type: ignore[no-untyped-def]
    body = {"kind": "complaint", "about": {"type": "officer", "officer_token": token}, "text": "执法时未出示证件"}
    return await client.post("/mp/v1/complaints", json=body, headers=headers or {})


async def test_a_signed_in_person_files_a_named_complaint_without_an_sms_code_and_follows_it(client):
    agency = await an_agency("甲局")
    cred = await a_credential(client, agency, await an_officer(client, agency, name="王五"))
    alice, bob = await sign_in(client, "alice"), await sign_in(client, "bob")
    resp = await _file(client, cred["token"], alice)
    assert resp.status == 201, await resp.text()
    receipt = await resp.json()
    assert receipt["anonymous"] is False
    openid = (await MpSession.all().order_by("created_at").first()).openid  # type: ignore[union-attr]
    row = await Complaint.get(tracking_no=receipt["tracking_no"])
    assert row.wechat_openid == openid and row.contact_phone is None and not row.anonymous

    # Alice finds it among her own without the query code; Bob and the anonymous do not.
    mine = await client.get("/mp/v1/me/complaints", headers=alice)
    assert mine.status == 200
    items = (await mine.json())["items"]
    assert [(i["tracking_no"], i["agency_name"], i["status"]) for i in items] == [
        (receipt["tracking_no"], "甲局", "submitted")]
    one = await client.get(f"/mp/v1/me/complaints/{receipt['tracking_no']}", headers=alice)
    assert one.status == 200 and [s["action"] for s in (await one.json())["steps"]] == ["submit"]
    assert (await (await client.get("/mp/v1/me/complaints", headers=bob)).json())["items"] == []
    theirs = await client.get(f"/mp/v1/me/complaints/{receipt['tracking_no']}", headers=bob)
    assert theirs.status == 404 and (await theirs.json())["error"]["code"] == "complaint_not_found"
    assert (await client.get("/mp/v1/me/complaints")).status == 401

    # The agency sees that it is named through WeChat, never the openid.
    page = await (await client.get("/api/v1/complaints", headers=agency.auth())).json()
    [listed] = [c for c in page["items"] if c["tracking_no"] == receipt["tracking_no"]]
    detail = await client.get(f"/api/v1/complaints/{listed['id']}", headers=agency.auth())
    body = await detail.json()
    assert body["anonymous"] is False and body["complainant"]["wechat"] is True
    for text in (await detail.text(), str(page), str(items), await one.text(), str(receipt)):
        assert openid not in text


async def test_without_a_session_it_stays_anonymous_and_a_bad_token_is_401_not_anonymous(client):
    agency = await an_agency("甲局")
    cred = await a_credential(client, agency, await an_officer(client, agency, name="王五"))
    resp = await _file(client, cred["token"])
    assert resp.status == 201 and (await resp.json())["anonymous"] is True
    alice = await sign_in(client, "alice")
    assert (await client.delete("/mp/v1/session", headers=alice)).status == 204
    for headers in (alice, {"Authorization": "Bearer mps_nope"}, {"Authorization": "Basic abc"}):
        refused = await _file(client, cred["token"], headers)
        assert refused.status == 401, await refused.text()
        assert (await refused.json())["error"]["code"] in ("invalid_session", "missing_session_token")
    assert await Complaint.all().count() == 1  # nothing filed by a dead session
