"""The parties' mini-program over HTTP: sign-in through the real wechatpy against the local
code-to-session stand-in, the sandbox, sessions, binding (reuse, guessing, takeover), the agency's new
code, SMS binding through the real Aliyun SDK, and a BOLA matrix over every /mp/v1/me route."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from backend.app import create_app
from backend.http.routing import PARTY
from backend.models import MpSession, Notification
from tests.conftest import make_settings
from tests.factories import an_agency
from tests.notifications.helpers import a_case
from tests.support.endpoints import endpoints
from tests.support.parties import bind, sign_in


async def test_sign_in_exchanges_the_code_through_wechatpy_and_never_answers_the_session_key(
        make_client, fake_wechat):
    client = await make_client(wechat=fake_wechat)
    resp = await client.post("/mp/v1/session", json={"code": "alice-1"})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert set(body) == {"session_token", "expires_in", "sandbox"} and body["sandbox"] is False
    assert re.fullmatch(r"mps_[A-Za-z0-9_-]{43}", body["session_token"]) and body["expires_in"] == 7 * 24 * 3600
    [login] = fake_wechat.logins()
    assert (login["appid"], login["js_code"], login["grant_type"]) == ("wxTESTAPPID", "alice-1", "authorization_code")
    assert login["session_key"] not in await resp.text()
    row = await MpSession.get(openid="o_alice")
    assert login["session_key"] not in str(row.__dict__) and body["session_token"] not in str(row.__dict__)
    headers = {"Authorization": f"Bearer {body['session_token']}"}
    assert (await client.get("/mp/v1/me/cases", headers=headers)).status == 200

    for code, status, error in (("bad-code", 401, "invalid_wx_code"), ("alice-1", 401, "invalid_wx_code")):
        resp = await client.post("/mp/v1/session", json={"code": code})  # refused, then already used
        assert resp.status == status and (await resp.json())["error"]["code"] == error


async def test_signing_out_revokes_the_session(client):
    headers = await sign_in(client, "demo-user")
    assert (await client.get("/mp/v1/me/cases", headers=headers)).status == 200
    assert (await client.delete("/mp/v1/session", headers=headers)).status == 204
    resp = await client.get("/mp/v1/me/cases", headers=headers)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_session"


async def test_the_sandbox_sign_in_works_only_with_no_credentials_at_all(client, make_client, fake_aliyun,
                                                                         fake_wechat, aiohttp_client, db_url,
                                                                         tmp_path):
    # Embedded default: the demo signs in through the sandbox, marked as such.
    resp = await client.post("/mp/v1/session", json={"code": "demo"})
    assert resp.status == 201 and (await resp.json())["sandbox"] is True
    headers = {"Authorization": f"Bearer {(await resp.json())['session_token']}"}
    # Real SMS configured, no WeChat: no sign-in at all (a sandbox user would divert real messages).
    sms_only = await make_client(aliyun=fake_aliyun)
    resp = await sms_only.post("/mp/v1/session", json={"code": "demo"})
    assert resp.status == 503 and (await resp.json())["error"]["code"] == "wechat_not_configured"
    # The sandbox session made before, on the same database, is dead once credentials are set.
    resp = await sms_only.get("/mp/v1/me/cases", headers=headers)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_session"
    # With WeChat configured, every code goes to WeChat: nothing is a sandbox sign-in.
    with_wechat = await make_client(wechat=fake_wechat)
    assert (await with_wechat.get("/mp/v1/me/cases", headers=headers)).status == 401
    resp = await with_wechat.post("/mp/v1/session", json={"code": "bad-demo"})
    assert resp.status == 401
    resp = await with_wechat.post("/mp/v1/session", json={"code": "demo"})
    assert resp.status == 201 and (await resp.json())["sandbox"] is False
    assert [x["js_code"] for x in fake_wechat.logins()] == ["demo"]


async def test_a_binding_code_binds_once_and_the_party_is_told_by_sms(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    alice, mallory = await sign_in(client, "alice"), await sign_in(client, "mallory")
    resp = await bind(client, alice, case)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["case"]["id"] == case["id"] and body["method"] == "code" and body["party_notified_by_sms"] is True

    resp = await bind(client, mallory, case)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "binding_code_used"
    assert (await (await client.get("/mp/v1/me/cases", headers=mallory)).json())["items"] == []
    mine = await (await client.get("/mp/v1/me/cases", headers=alice)).json()
    assert [c["id"] for c in mine["items"]] == [case["id"]]
    log = await (await client.get(f"/api/v1/notifications?case_id={case['id']}", headers=agency.auth())).json()
    assert [(i["event"], i["channel"]) for i in log["items"]] == [("binding_changed", "sms")]


async def test_guessing_codes_is_rate_limited_per_session_and_per_client(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    guesser = await sign_in(client, "guesser")
    statuses = []
    for i in range(7):
        resp = await bind(client, guesser, case, code=f"{i:010d}")
        statuses.append(resp.status)
        if resp.status == 404:
            assert (await resp.json())["error"]["code"] == "binding_not_found"
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429, 429]  # the session's budget: 5 at once
    assert (await resp.json())["error"]["code"] == "binding_rate_limited"
    # New sessions from the same client share the client's budget (10 at once; 7 are spent).
    fresh = await sign_in(client, "guesser-2")
    assert [(await bind(client, fresh, case, code=f"9{i:09d}")).status for i in range(5)] == [404] * 3 + [429] * 2
    # Even the right code is refused while the client is over budget.
    resp = await bind(client, await sign_in(client, "guesser-late"), case)
    assert resp.status == 429


async def test_the_agency_issues_a_new_code_which_ends_the_old_binding(client):
    agency, other = await an_agency(), await an_agency("另一个局")
    case = await a_case(client, agency.auth(), n_parties=1)
    party_id = case["parties"][0]["id"]
    alice, bob = await sign_in(client, "alice"), await sign_in(client, "bob")
    assert (await bind(client, alice, case)).status == 201
    url = f"/api/v1/cases/{case['id']}/parties/{party_id}/binding-code"
    assert (await client.post(url, headers=other.auth())).status == 404  # not their case
    resp = await client.post(url, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    issued = await resp.json()
    assert issued["ended_binding"] is True and issued["binding_code"] != case["parties"][0]["binding_code"]
    assert (await client.get(f"/mp/v1/me/cases/{case['id']}", headers=alice)).status == 404
    assert (await bind(client, bob, case)).status == 404  # the old code is gone
    assert (await bind(client, bob, case, code=issued["binding_code"])).status == 201
    seen = await (await client.get(f"/api/v1/cases/{case['id']}", headers=agency.auth())).json()
    assert seen["parties"][0]["has_wechat"] is True
    wrong_party = f"/api/v1/cases/{case['id']}/parties/{uuid.uuid4()}/binding-code"
    resp = await client.post(wrong_party, headers=agency.auth())
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "party_not_found"


async def test_binding_by_sms_code_goes_through_aliyun_and_takes_the_party_back(make_client, fake_aliyun,
                                                                               fake_wechat):
    client = await make_client(aliyun=fake_aliyun, wechat=fake_wechat)
    agency = await an_agency()
    phone = "13900009191"
    case = await a_case(client, agency.auth(), parties=[{"name": "周九", "kind": "person", "phone": phone}])
    mallory, owner = await sign_in(client, "mallory-1"), await sign_in(client, "owner-1")
    assert (await bind(client, mallory, case)).status == 201  # saw the paperwork before the owner

    ask = {"case_number": case["number"], "phone": "13900009999"}  # not the phone on file
    resp = await client.post("/mp/v1/me/cases/sms-code", json=ask, headers=owner)
    assert resp.status == 202 and await resp.json() == {"accepted": True, "expires_in": 300}
    resp = await client.post("/mp/v1/me/cases/sms-code", json={**ask, "phone": phone}, headers=owner)
    assert resp.status == 202
    from tests.notifications.helpers import wait_for

    await wait_for(client, agency.auth(), case["id"],
                   lambda xs: any(x["event"] == "binding_sms_code" and x["status"] == "sent" for x in xs))
    [sms] = [m for m in fake_aliyun.messages() if m["template"] == "SMS_YG_BINDING_CODE"]
    assert sms["phone"] == phone and re.fullmatch(r"\d{6}", sms["params"]["code"])
    log = await (await client.get(f"/api/v1/notifications?case_id={case['id']}", headers=agency.auth())).json()
    assert all(sms["params"]["code"] not in i["content"] for i in log["items"])  # staff never see the code
    resp = await client.post("/mp/v1/me/cases/sms-code", json={**ask, "phone": phone}, headers=owner)
    assert resp.status == 429 and (await resp.json())["error"]["code"] == "sms_code_rate_limited"

    body = {"case_number": case["number"], "sms_code": sms["params"]["code"]}
    assert (await client.post("/mp/v1/me/cases", json=body, headers=mallory)).status == 404
    resp = await client.post("/mp/v1/me/cases", json=body, headers=owner)
    assert resp.status == 201 and (await resp.json())["method"] == "sms"
    assert (await client.get(f"/mp/v1/me/cases/{case['id']}", headers=mallory)).status == 404
    detail = await (await client.get(f"/mp/v1/me/cases/{case['id']}", headers=owner)).json()
    assert [n["event"] for n in detail["notices"]] == ["binding_changed", "binding_sms_code", "binding_changed"]
    assert all(n["status"] in ("pending", "sending", "sent", "delivered") for n in detail["notices"])
    assert await Notification.filter(event="binding_changed", recipient=phone).count() == 2


async def test_bad_bodies_are_refused_cleanly(client):
    headers = await sign_in(client, "alice")
    for body in ({"case_number": "x"}, {"case_number": "x", "binding_code": "ABCDEF1234", "sms_code": "123456"},
                 {"case_number": "x", "sms_code": "12ab56"}, {"case_number": "", "binding_code": "ABCDEF1234"}):
        resp = await client.post("/mp/v1/me/cases", json=body, headers=headers)
        assert resp.status == 422, body
    resp = await client.post("/mp/v1/me/cases/sms-code", json={"case_number": "x", "phone": "12345"},
                             headers=headers)
    assert resp.status == 422
    resp = await client.patch(f"/mp/v1/me/cases/{uuid.uuid4()}/preferences",
                              json={"channel_preference": "fax"}, headers=headers)
    assert resp.status == 422


# --- BOLA --------------------------------------------------------------------------------------------


def _party_routes(app: Any) -> list[Any]:
    return [ep for ep in endpoints(app) if ep.access == PARTY]


async def test_bola_two_people_two_parties_two_agencies_over_every_me_route(client):
    """Alice is party 0 of agency A's two-party case; Bob is party 1 of it and the only party of agency
    B's case. Nobody reaches a case, a party's notices or a setting that is not their own."""
    a, b = await an_agency("甲局"), await an_agency("乙局")
    shared = await a_case(client, a.auth(), n_parties=2)
    bobs = await a_case(client, b.auth(), n_parties=1)
    alice, bob = await sign_in(client, "alice"), await sign_in(client, "bob")
    assert (await bind(client, alice, shared, party=0)).status == 201
    assert (await bind(client, bob, shared, party=1)).status == 201
    assert (await bind(client, bob, bobs)).status == 201
    await client.post(f"/api/v1/cases/{shared['id']}/notices", json={"text": "请于周一到场。"}, headers=a.auth())

    own = {"alice": {shared["id"]}, "bob": {shared["id"], bobs["id"]}}
    people = {"alice": alice, "bob": bob}
    unbound = await a_case(client, a.auth(), n_parties=1)
    case_ids = [shared["id"], bobs["id"], unbound["id"], str(uuid.uuid4())]
    routes = _party_routes(client.app)
    assert {f"{ep.method} {ep.path}" for ep in routes} >= {
        "GET /mp/v1/me/cases", "POST /mp/v1/me/cases", "GET /mp/v1/me/cases/{case_id}",
        "PATCH /mp/v1/me/cases/{case_id}/preferences", "POST /mp/v1/me/cases/sms-code", "DELETE /mp/v1/session"}
    checked = 0
    for ep in routes:
        if "{case_id}" not in ep.path or ep.method == "DELETE":  # unbinding: last, below
            continue
        for who, headers in people.items():
            for case_id in case_ids:
                path = ep.path.replace("{case_id}", case_id)
                resp = await client.request(ep.method, path, headers=headers,
                                            json={"wechat_consent": True} if ep.method == "PATCH" else None)
                if case_id in own[who]:
                    assert resp.status == 200, (who, ep.path, await resp.text())
                else:
                    assert resp.status == 404, (who, ep.path, case_id, resp.status)
                    assert (await resp.json())["error"]["code"] == "case_not_found"
                checked += 1
    assert checked >= 2 * 2 * 4

    for who, headers in people.items():
        listing = await (await client.get("/mp/v1/me/cases", headers=headers)).json()
        assert {c["id"] for c in listing["items"]} == own[who]
    # In the shared case each sees only their own party and their own messages.
    views = {who: await (await client.get(f"/mp/v1/me/cases/{shared['id']}", headers=h)).json()
             for who, h in people.items()}
    assert [p["id"] for p in views["alice"]["parties"]] == [shared["parties"][0]["id"]]
    assert [p["id"] for p in views["bob"]["parties"]] == [shared["parties"][1]["id"]]
    alice_notices = {n["id"] for n in views["alice"]["notices"]}
    assert alice_notices and not alice_notices & {n["id"] for n in views["bob"]["notices"]}
    assert shared["parties"][1]["name"] not in str(views["alice"])
    # Preferences change only one's own party.
    resp = await client.patch(f"/mp/v1/me/cases/{shared['id']}/preferences", json={"channel_preference": "none"},
                              headers=alice)
    assert [p["channel_preference"] for p in (await resp.json())["parties"]] == ["none"]
    seen = await (await client.get(f"/api/v1/cases/{shared['id']}", headers=a.auth())).json()
    assert [p["reachable"] for p in seen["parties"]] == [False, True]

    # Unbinding: nobody ends a binding that is not their own; Alice's end leaves Bob's intact.
    assert "DELETE /mp/v1/me/cases/{case_id}" in {f"{ep.method} {ep.path}" for ep in routes}
    for who, headers in people.items():
        for case_id in case_ids:
            if case_id not in own[who]:
                resp = await client.delete(f"/mp/v1/me/cases/{case_id}", headers=headers)
                assert resp.status == 404 and (await resp.json())["error"]["code"] == "case_not_found", (who, case_id)
    assert (await client.delete(f"/mp/v1/me/cases/{shared['id']}", headers=alice)).status == 204
    assert (await client.get(f"/mp/v1/me/cases/{shared['id']}", headers=alice)).status == 404
    assert (await client.delete(f"/mp/v1/me/cases/{shared['id']}", headers=alice)).status == 404
    assert (await client.get(f"/mp/v1/me/cases/{shared['id']}", headers=bob)).status == 200
    seen = await (await client.get(f"/api/v1/cases/{shared['id']}", headers=a.auth())).json()
    assert [p["has_wechat"] for p in seen["parties"]] == [False, True]


async def test_every_me_route_refuses_missing_forged_and_agency_tokens(client):
    agency = await an_agency()
    routes = _party_routes(client.app)
    assert routes
    for ep in routes:
        path = ep.path.replace("{case_id}", str(uuid.uuid4())).replace("{tracking_no}", "T261204-7K3M-9Q2X")
        resp = await client.request(ep.method, path)
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "missing_session_token", ep.path
        for token in ("mps_" + "A" * 43, agency.admin_key, "x" * 500):
            resp = await client.request(ep.method, path, headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_session", ep.path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_session_expires_by_the_injected_clock(aiohttp_client, db_url, tmp_path):
    from datetime import datetime

    from backend.clock import SHANGHAI, FrozenClock

    clock = FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    client = await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", mp_session_ttl=3600),
                                             clock=clock))
    headers = await sign_in(client, "alice")
    assert (await client.get("/mp/v1/me/cases", headers=headers)).status == 200
    clock.advance(seconds=3600)
    resp = await client.get("/mp/v1/me/cases", headers=headers)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_session"
