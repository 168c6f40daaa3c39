"""A named complaint filed with the mini-program session (issue 12 item 4, "or the WeChat session"):
no SMS code, the signed-in person is the complainant and finds it among their own, nobody else does,
and the openid never appears in any answer, the agency's included; each step reaches them on WeChat."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.models import Complaint, MpSession, Notification, SubscriptionGrant
from backend.models.enums import NotificationChannel, NotificationEvent
from backend.models.enums import NotificationStatus as N
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


async def _settled(rows_of, n: int, seconds: float = 15.0):  # type: ignore[no-untyped-def]
    """Wait until ``rows_of()`` holds ``n`` rows, none of them still pending, queued or being sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        rows = await rows_of()
        if len(rows) == n and all(r.status not in (N.PENDING, N.SENDING) for r in rows):
            return rows
        assert loop.time() < deadline, [(r.status, r.provider_status, r.last_error) for r in rows]
        await asyncio.sleep(0.05)


async def test_each_step_reaches_the_signed_in_complainant_on_wechat_through_wechatpy(make_client, fake_wechat):
    """End to end (issue 12): filed with a session, acknowledged and answered over HTTP, relayed by the
    worker's own code path to the real wechatpy client against the local WeChat stand-in."""
    client = await make_client(wechat=fake_wechat)
    agency = await an_agency("甲局")
    cred = await a_credential(client, agency, await an_officer(client, agency, name="王五"))
    alice, bob = await sign_in(client, "alice-1"), await sign_in(client, "bob-1")
    # Alice accepts the complaint-update template twice in the mini-program (one message each).
    for code in ("alice-2", "alice-3"):
        resp = await client.post("/mp/v1/subscriptions",
                                 json={"code": code, "results": {"YG_WX_COMPLAINT_UPDATE": "accept"}})
        assert resp.status == 201 and (await resp.json())["granted"] == 1
    mine = await (await _file(client, cred["token"], alice)).json()
    theirs = await (await _file(client, cred["token"], bob)).json()  # Bob never accepted: nothing reaches him
    row = await Complaint.get(tracking_no=mine["tracking_no"])
    assert row.wechat_openid == "o_alice" and row.contact_phone is None

    for action, body in (("acknowledge", {}), ("answer", {"answer": "经调查，已批评教育。"})):
        resp = await client.post(f"/api/v1/complaints/{row.id}/{action}", json=body, headers=agency.auth())
        assert resp.status == 200, await resp.text()
    other = await Complaint.get(tracking_no=theirs["tracking_no"])
    resp = await client.post(f"/api/v1/complaints/{other.id}/acknowledge", json={}, headers=agency.auth())
    assert resp.status == 200, await resp.text()

    rows = await _settled(lambda: Notification.filter(event=NotificationEvent.COMPLAINT_UPDATE)
                          .order_by("created_at"), 3)
    sent = [r for r in rows if r.recipient == "o_alice"]
    assert [r.status for r in sent] == [N.SENT, N.SENT]
    [refused] = [r for r in rows if r.recipient == "o_bob"]
    assert (refused.status, refused.provider_status) == (N.FAILED, "no_grant")  # no consent, no message

    messages = fake_wechat.messages()
    assert [m["touser"] for m in messages] == ["o_alice", "o_alice"]
    due = row.answer_due_on.isoformat() if row.answer_due_on else ""
    for msg, told, n in zip(messages, (f"已受理，将于{due}前答复", "已答复，请凭查询码查看答复并评价"), sent,
                            strict=True):
        assert msg["template_id"] == "YG_WX_COMPLAINT_UPDATE"
        assert msg["page"] == f"pages/complaint/detail?no={mine['tracking_no']}"
        data = {k: v["value"] for k, v in msg["data"].items()}
        assert data["thing1"] == mine["tracking_no"]  # whole: the number the complainant follows it by
        assert data["thing2"] == "投诉举报进度" and data["thing3"] == told
        assert all(len(v) <= 20 for k, v in data.items() if k.startswith("thing"))
        for private in ("王五", "执法时未出示证件", theirs["tracking_no"], "o_bob", "o_alice", mine["query_code"]):
            assert private not in str(data) and private not in msg["page"]
        # What is recorded of the delivery: accepted by WeChat under the msgid it answered, at a time,
        # with the grant it used up.
        assert (n.channel, n.template, n.provider_id) == (NotificationChannel.WECHAT, "YG_WX_COMPLAINT_UPDATE",
                                                          str(msg["msgid"]))
        assert n.sent_at is not None and n.attempts == 1 and n.last_error == ""
        assert await SubscriptionGrant.filter(openid="o_alice", consumed_by=n.id).count() == 1
