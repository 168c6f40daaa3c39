"""/wechat/v1/push over HTTP against the live app: WeChat's URL check and its event pushes, signed
here independently (hashlib), in plaintext and in safe mode (a real WeChatCrypto-encrypted body);
and the end-to-end: a decision to a WeChat-bound party → WeChat's push → the party sees it delivered."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
import pytest
from wechatpy.crypto import WeChatCrypto

from backend.app import create_app
from backend.clock import SHANGHAI, FrozenClock
from backend.models import DeliveryReceipt, Notification
from tests.factories import an_agency
from tests.factories import publish as publish_previewed
from tests.fakes.wechat import APPID
from tests.notifications.conftest import provider_settings
from tests.notifications.helpers import a_case, a_decision, notifications, wait_for
from tests.support.parties import bind, sign_in
from tests.support.wechat_push import a_wechat_row, sha1_of

TOKEN = "pushToken2026"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def signed_query(clock: FrozenClock, nonce: str, token: str = TOKEN, skew: int = 0) -> dict[str, str]:
    ts = str(int(clock.now().timestamp()) + skew)
    return {"signature": sha1_of(token, ts, nonce), "timestamp": ts, "nonce": nonce}


def sent_xml(openid: str, msgid: str, code: int = 0) -> bytes:
    status = "success" if code == 0 else "failed"
    return (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List>"
            f"<TemplateId><![CDATA[YG_WX_DECISION_PUBLISHED]]></TemplateId><MsgID>{msgid}</MsgID>"
            f"<ErrorCode>{code}</ErrorCode><ErrorStatus><![CDATA[{status}]]></ErrorStatus></List>"
            f"</SubscribeMsgSentEvent></xml>").encode()


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def push_client(aiohttp_client, db_url, tmp_path, frozen):  # type: ignore[no-untyped-def]
    async def make(wechat: Any = None, aliyun: Any = None, **overrides: Any):  # type: ignore[no-untyped-def]
        values: dict[str, Any] = {"wechat_push_token": TOKEN, **overrides}
        settings = provider_settings(db_url, tmp_path / "data", aliyun, wechat, **values)
        return await aiohttp_client(create_app(settings, clock=frozen))

    return make


def error_code(body: dict[str, Any]) -> str:
    return body["error"]["code"]


async def test_the_url_check_echoes_echostr_only_when_signed_with_the_token(push_client, frozen):
    client = await push_client()
    q = {**signed_query(frozen, "11"), "echostr": "6583207418327474234"}
    resp = await client.get("/wechat/v1/push", params=q)
    assert resp.status == 200 and await resp.text() == "6583207418327474234"
    assert resp.content_type == "text/plain"

    forged = {**signed_query(frozen, "11", token="guessed"), "echostr": "6583207418327474234"}
    resp = await client.get("/wechat/v1/push", params=forged)
    assert resp.status == 401 and error_code(await resp.json()) == "push_signature_invalid"
    resp = await client.get("/wechat/v1/push", params={"echostr": "x"})
    assert resp.status == 401 and error_code(await resp.json()) == "push_signature_invalid"
    resp = await client.get("/wechat/v1/push", params={**signed_query(frozen, "11", skew=-3600), "echostr": "1"})
    assert resp.status == 401 and error_code(await resp.json()) == "push_timestamp_stale"
    resp = await client.get("/wechat/v1/push", params={**signed_query(frozen, "11"), "echostr": "<script>"})
    assert resp.status == 400 and error_code(await resp.json()) == "push_query_invalid"


async def test_without_a_token_configured_the_route_is_not_there(push_client, frozen):
    client = await push_client(wechat_push_token=None)
    for method in ("GET", "POST"):
        resp = await client.request(method, "/wechat/v1/push", params=signed_query(frozen, "1"), data=b"<xml/>")
        assert resp.status == 404 and error_code(await resp.json()) == "wechat_push_not_configured"


async def test_a_signed_push_is_applied_once_and_its_replay_is_refused(push_client, frozen):
    client = await push_client()
    row = await a_wechat_row("8001")
    q = signed_query(frozen, "321")
    resp = await client.post("/wechat/v1/push", params=q, data=sent_xml("o_party", "8001"),
                             headers={"Content-Type": "text/xml"})
    assert resp.status == 200 and await resp.text() == "success"
    assert (await Notification.get(id=row.id)).status.value == "delivered"

    resp = await client.post("/wechat/v1/push", params=q, data=sent_xml("o_party", "8001"))
    assert resp.status == 409 and error_code(await resp.json()) == "push_replayed"
    assert await DeliveryReceipt.filter(notification_id=row.id).count() == 1


async def test_forged_stale_oversized_and_hostile_pushes_are_4xx_and_change_nothing(push_client, frozen):
    client = await push_client()
    row = await a_wechat_row("8101")
    body = sent_xml("o_party", "8101")
    cases: list[tuple[dict[str, str], bytes, int, str]] = [
        (signed_query(frozen, "1", token="not-our-token"), body, 401, "push_signature_invalid"),
        ({"timestamp": "1", "nonce": "1"}, body, 401, "push_signature_invalid"),
        (signed_query(frozen, "2", skew=600), body, 401, "push_timestamp_stale"),
        (signed_query(frozen, "3"), b"<xml>" + b"<a>x</a>" * 5000 + b"</xml>", 413, "push_too_large"),
        (signed_query(frozen, "4"), b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">"""
         b"""<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Event>&b;</Event></xml>""", 400, "push_malformed"),
        (signed_query(frozen, "5"), b"""<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>""",
         400, "push_malformed"),
        (signed_query(frozen, "6"), b"\xff\xfe not xml", 400, "push_malformed"),
        (signed_query(frozen, "7"), b'{"MsgType": "event", "Event": "subscribe_msg_sent_event", "List": 5}',
         400, "push_malformed"),
    ]
    for query, data, status, code in cases:
        resp = await client.post("/wechat/v1/push", params=query, data=data)
        assert resp.status == status, (code, await resp.text())
        assert error_code(await resp.json()) == code
    assert (await Notification.get(id=row.id)).status.value == "sent"
    assert await DeliveryReceipt.all().count() == 0


async def test_safe_mode_takes_an_encrypted_json_push_and_refuses_plaintext(push_client, frozen):
    client = await push_client(wechat_push_aes_key=AES_KEY, wechat_appid=APPID, wechat_secret=None)
    row = await a_wechat_row("8201")
    inner = orjson.dumps({"ToUserName": "gh_1", "FromUserName": "o_party", "CreateTime": "1", "MsgType": "event",
                          "Event": "subscribe_msg_sent_event",
                          "List": {"TemplateId": "YG_WX_DECISION_PUBLISHED", "MsgID": "8201", "ErrorCode": "0",
                                   "ErrorStatus": "success"}}).decode()
    q = signed_query(frozen, "9001")
    envelope = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(inner, q["nonce"], q["timestamp"])
    encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    body = orjson.dumps({"ToUserName": "gh_1", "Encrypt": encrypt})
    safe = {**q, "encrypt_type": "aes", "msg_signature": sha1_of(TOKEN, q["timestamp"], q["nonce"], encrypt)}

    resp = await client.post("/wechat/v1/push", params={**safe, "msg_signature": "0" * 40}, data=body)
    assert resp.status == 401 and error_code(await resp.json()) == "push_signature_invalid"
    plain = signed_query(frozen, "9002")
    resp = await client.post("/wechat/v1/push", params=plain, data=inner.encode())
    assert resp.status == 400 and error_code(await resp.json()) == "push_encryption_required"
    assert (await Notification.get(id=row.id)).status.value == "sent"

    resp = await client.post("/wechat/v1/push", params=safe, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200 and await resp.text() == "success"
    assert (await Notification.get(id=row.id)).status.value == "delivered"


async def test_a_decision_to_a_wechat_bound_party_shows_delivered_after_wechats_push(
        push_client, frozen, fake_wechat, fake_aliyun):
    client = await push_client(wechat=fake_wechat, aliyun=fake_aliyun)
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    session = await sign_in(client, "wxr-1")
    assert (await bind(client, session, case)).status == 201
    resp = await client.post("/mp/v1/subscriptions",
                             json={"code": "wxr-2", "results": {"YG_WX_DECISION_PUBLISHED": "accept"}})
    assert resp.status == 201, await resp.text()
    decision = await a_decision(client, agency.auth(), case["id"])
    assert (await publish_previewed(client, decision["id"], agency.auth())).status == 200
    await wait_for(client, agency.auth(), case["id"],
                   lambda xs: any(x["channel"] == "wechat" and x["status"] == "sent" for x in xs))
    [msg] = fake_wechat.messages()

    mine = await (await client.get(f"/mp/v1/me/cases/{case['id']}", headers=session)).json()
    [notice] = [n for n in mine["notices"] if n["channel"] == "wechat"]
    assert notice["status"] == "sent" and notice["delivered_at"] is None

    resp = await client.post("/wechat/v1/push", params=signed_query(frozen, "e2e"),
                             data=sent_xml(msg["touser"], str(msg["msgid"])))
    assert resp.status == 200 and await resp.text() == "success"

    mine = await (await client.get(f"/mp/v1/me/cases/{case['id']}", headers=session)).json()
    [notice] = [n for n in mine["notices"] if n["channel"] == "wechat"]
    assert notice["status"] == "delivered" and notice["delivered_at"] is not None
    [row] = [n for n in await notifications(client, agency.auth(), case["id"]) if n["channel"] == "wechat"]
    assert row["status"] == "delivered" and row["provider_id"] == str(msg["msgid"])
    assert [(r["provider_status"], r["error_code"]) for r in row["receipts"]] == [("delivered", "")]


async def test_a_failed_delivery_push_sends_the_party_an_sms_instead(push_client, frozen, fake_wechat, fake_aliyun):
    client = await push_client(wechat=fake_wechat, aliyun=fake_aliyun)
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    session = await sign_in(client, "wxf-1")
    assert (await bind(client, session, case)).status == 201
    await client.post("/mp/v1/subscriptions", json={"code": "wxf-2", "results": {"YG_WX_DECISION_PUBLISHED": "accept"}})
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    await wait_for(client, agency.auth(), case["id"],
                   lambda xs: any(x["channel"] == "wechat" and x["status"] == "sent" for x in xs))
    [msg] = fake_wechat.messages()
    resp = await client.post("/wechat/v1/push", params=signed_query(frozen, "fail"),
                             data=sent_xml(msg["touser"], str(msg["msgid"]), code=43101))
    assert resp.status == 200
    items = await wait_for(client, agency.auth(), case["id"], lambda xs: any(
        x["channel"] == "sms" and x["event"] == "decision_published" and x["status"] == "sent" for x in xs))
    wx = next(i for i in items if i["channel"] == "wechat")
    sms = next(i for i in items if i["channel"] == "sms" and i["event"] == "decision_published")
    assert wx["status"] == "superseded" and wx["receipts"][0]["error_code"] == "43101"
    assert sms["fallback_of_id"] == wx["id"]
    assert [m["template"] for m in fake_aliyun.messages()].count("SMS_YG_PUBLISHED") == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_openapi_describes_the_push_with_examples_and_no_key(push_client):
    client = await push_client()
    spec = await (await client.get("/api/openapi.json")).json()
    get, post = spec["paths"]["/wechat/v1/push"]["get"], spec["paths"]["/wechat/v1/push"]["post"]
    assert get["security"] == post["security"] == [] and "signature" in post["description"]
    examples = post["requestBody"]["content"]
    assert "subscribe_msg_sent_event" in examples["text/xml"]["example"]
    assert examples["application/json"]["example"]["Event"] == "subscribe_msg_sent_event"
    assert {"401", "404", "409", "413"} <= set(post["responses"])
    assert "text/plain" in post["responses"]["200"]["content"]
    assert {p["name"] for p in get["parameters"]} == {"signature", "timestamp", "nonce", "echostr"}
