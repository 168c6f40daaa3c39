"""WeChat's message push, without HTTP: who is believed (signature, window, nonce, safe mode), what
a body may be (no DTD, bounded), and what a delivery result does to a WeChat notification row."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime

import orjson
import pytest
from wechatpy.crypto import WeChatCrypto

from backend.clock import SHANGHAI, FrozenClock
from backend.models import DeliveryReceipt, Notification, WechatPushNonce
from backend.models.enums import NotificationChannel, NotificationStatus
from backend.services import wechat_push as push
from notifications.policy import Policy
from tests.support.wechat_push import a_wechat_row, sha1_of

S = NotificationStatus
TOKEN = "pushToken2026"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters
APPID = "wx_test_appid"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def push_settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, wechat_push_token=TOKEN)


def signed_now(clock: FrozenClock, nonce: str = "1405972312") -> push.Signed:
    return push.Signed(int(clock.now().timestamp()), nonce)


def sent_event(openid: str, *items: tuple[str, int]) -> dict:  # type: ignore[type-arg]
    return {"ToUserName": "gh_1", "FromUserName": openid, "CreateTime": "1", "MsgType": "event",
            "Event": "subscribe_msg_sent_event",
            "List": [{"TemplateId": "YG_WX_DECISION_PUBLISHED", "MsgID": msgid, "ErrorCode": str(code),
                      "ErrorStatus": "success" if code == 0 else "failed"} for msgid, code in items]}


# --- who is believed -------------------------------------------------------------------------------

def test_a_request_signed_with_the_token_and_fresh_is_wechats(push_settings, frozen):
    ts = str(int(frozen.now().timestamp()))
    signed = push.check(push_settings, frozen, sha1_of(TOKEN, ts, "42"), ts, "42")
    assert signed == push.Signed(int(ts), "42")


def test_a_forged_or_missing_signature_is_refused(push_settings, frozen):
    ts = str(int(frozen.now().timestamp()))
    with pytest.raises(push.PushSignatureInvalid):
        push.check(push_settings, frozen, sha1_of("another-token", ts, "42"), ts, "42")
    with pytest.raises(push.PushSignatureInvalid):  # signed for another nonce
        push.check(push_settings, frozen, sha1_of(TOKEN, ts, "42"), ts, "43")
    with pytest.raises(push.PushSignatureInvalid):
        push.check(push_settings, frozen, None, ts, "42")
    with pytest.raises(push.PushQueryInvalid):
        push.check(push_settings, frozen, "not-hex", ts, "42")


@pytest.mark.parametrize("seconds", [-301, 301, -86400])
def test_a_timestamp_out_of_the_five_minute_window_is_stale_even_when_signed(push_settings, frozen, seconds):
    ts = str(int(frozen.now().timestamp()) + seconds)
    with pytest.raises(push.PushTimestampStale):
        push.check(push_settings, frozen, sha1_of(TOKEN, ts, "42"), ts, "42")
    inside = str(int(frozen.now().timestamp()) + (299 if seconds > 0 else -299))
    assert push.check(push_settings, frozen, sha1_of(TOKEN, inside, "42"), inside, "42")


def test_without_a_token_nothing_is_accepted(settings, frozen):
    ts = str(int(frozen.now().timestamp()))
    with pytest.raises(push.PushNotConfigured):
        push.check(settings, frozen, sha1_of("", ts, "42"), ts, "42")


# --- what a body may be ---------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Event>&lol3;</Event></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Event>&e;</Event></xml>"""


@pytest.mark.parametrize("body", [BOMB, XXE, b"<xml><a>", b"[1, 2]", b"plain text", b"{\"a\": ",
                                  b"<xml>" + b"<a>" * 20 + b"x" + b"</a>" * 20 + b"</xml>",
                                  b"<xml>" + b"<a>1</a>" * 3000 + b"</xml>"])
def test_dtds_entities_and_broken_or_deep_bodies_are_malformed(body):
    with pytest.raises(push.PushMalformed):
        push.parse(body)


def test_xml_and_json_read_alike_and_a_single_item_may_come_as_an_object():
    xml = (b"<xml><FromUserName><![CDATA[o_1]]></FromUserName><MsgType>event</MsgType>"
           b"<Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent><List><TemplateId>T</TemplateId>"
           b"<MsgID>1864323726461255680</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List>"
           b"</SubscribeMsgSentEvent></xml>")
    one = {"FromUserName": "o_1", "MsgType": "event", "Event": "subscribe_msg_sent_event",
           "List": {"TemplateId": "T", "MsgID": "1864323726461255680", "ErrorCode": 0, "ErrorStatus": "success"}}
    expected = ("o_1", [push.WechatResult("T", "1864323726461255680", 0, "success")])
    assert push.sent_results(push.parse(xml)) == expected
    assert push.sent_results(push.parse(orjson.dumps(one))) == expected
    assert push.sent_results({"MsgType": "event", "Event": "subscribe_msg_popup_event"}) is None


def test_an_oversized_body_is_refused_before_it_is_parsed(push_settings, frozen):
    with pytest.raises(push.PushTooLarge):
        push.open_body(push_settings, signed_now(frozen), b"<xml>" + b" " * push.MAX_BODY_BYTES + b"</xml>",
                       encrypt_type=None, msg_signature=None)


def encrypted(plaintext: str, nonce: str, ts: str, appid: str = APPID) -> tuple[bytes, str]:
    """A safe-mode body as WeChat sends it (wechatpy's encryption: AES-CBC of random(16) ‖ len ‖ msg ‖
    appid), and its msg_signature computed here from the token, timestamp, nonce and Encrypt."""
    xml = WeChatCrypto(TOKEN, AES_KEY, appid).encrypt_message(plaintext, nonce, ts)
    enc = xml.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    body = f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    return body.encode(), sha1_of(TOKEN, ts, nonce, enc)


def test_safe_mode_decrypts_and_checks_msg_signature_and_refuses_plaintext(push_settings, frozen):
    safe = replace(push_settings, wechat_push_aes_key=AES_KEY, wechat_appid=APPID)
    signed = signed_now(frozen, "777")
    ts = str(signed.timestamp)
    inner = orjson.dumps(sent_event("o_1", ("55", 0))).decode()
    body, msg_signature = encrypted(inner, "777", ts)
    message = push.open_body(safe, signed, body, encrypt_type="aes", msg_signature=msg_signature)
    assert push.sent_results(message) == ("o_1", [push.WechatResult("YG_WX_DECISION_PUBLISHED", "55", 0, "success")])

    with pytest.raises(push.PushEncryptionRequired):  # plaintext is not believed once the key is set
        push.open_body(safe, signed, inner.encode(), encrypt_type=None, msg_signature=None)
    with pytest.raises(push.PushSignatureInvalid):  # the ciphertext changed after signing
        push.open_body(safe, signed, body.replace(b"<![CDATA[", b"<![CDATA[A", 2), encrypt_type="aes",
                       msg_signature=msg_signature)
    other, other_sig = encrypted(inner, "777", ts, appid="wx_someone_else")
    with pytest.raises(push.PushDecryptFailed):  # for another mini-program
        push.open_body(safe, signed, other, encrypt_type="aes", msg_signature=other_sig)


# --- what a delivery result does ------------------------------------------------------------------

async def test_a_delivered_result_moves_the_row_once_and_appends_its_receipt(db, frozen):
    row = await a_wechat_row("1001")
    got = await push.receive(Policy(), frozen, signed_now(frozen, "1"), sent_event("o_party", ("1001", 0)))
    assert got.tally is not None and got.tally.delivered == 1
    row = await Notification.get(id=row.id)
    assert row.status is S.DELIVERED and row.delivered_at == NOW
    [receipt] = await DeliveryReceipt.filter(notification_id=row.id)
    assert receipt.provider_status == "delivered" and receipt.payload["msgid"] == "1001"

    # WeChat pushes the same event again (a retry: a new nonce). Nothing changes.
    frozen.advance(seconds=3)
    again = await push.receive(Policy(), frozen, signed_now(frozen, "2"), sent_event("o_party", ("1001", 0)))
    assert again.tally is not None and (again.tally.delivered, again.tally.unchanged) == (0, 1)
    assert await DeliveryReceipt.filter(notification_id=row.id).count() == 1
    assert (await Notification.get(id=row.id)).updated_at == row.updated_at


async def test_a_replayed_nonce_is_refused_and_writes_nothing(db, frozen):
    row = await a_wechat_row("2001")
    signed = signed_now(frozen, "99")
    await push.receive(Policy(), frozen, signed, {"MsgType": "event", "Event": "subscribe_msg_popup_event"})
    with pytest.raises(push.PushReplayed):
        await push.receive(Policy(), frozen, signed, sent_event("o_party", ("2001", 0)))
    assert (await Notification.get(id=row.id)).status is S.SENT
    assert await DeliveryReceipt.filter(notification_id=row.id).count() == 0
    assert await WechatPushNonce.all().count() == 1


async def test_unknown_msgids_other_users_and_sms_rows_are_counted_never_touched(db, frozen):
    sms = await a_wechat_row("3001", channel=NotificationChannel.SMS, openid="13900000009")
    mine = await a_wechat_row("3002", openid="o_other")
    got = await push.receive(Policy(), frozen, signed_now(frozen, "5"),
                             sent_event("o_party", ("3001", 0), ("3002", 0), ("9999", 0)))
    assert got.tally is not None and (got.tally.unknown, got.tally.delivered) == (3, 0)
    assert (await Notification.get(id=sms.id)).status is S.SENT
    assert (await Notification.get(id=mine.id)).status is S.SENT
    assert await DeliveryReceipt.all().count() == 0


async def test_a_failed_delivery_falls_back_to_sms_with_the_twin_the_row_carries(db, frozen):
    row = await a_wechat_row("4001")
    got = await push.receive(Policy(), frozen, signed_now(frozen, "6"), sent_event("o_party", ("4001", 43101)))
    assert got.tally is not None and got.tally.failed == 1 and len(got.tally.fallback_ids) == 1
    row = await Notification.get(id=row.id)
    assert row.status is S.SUPERSEDED and row.last_error == "43101 failed"
    [receipt] = await DeliveryReceipt.filter(notification_id=row.id)
    assert (receipt.provider_status, receipt.error_code) == ("failed", "43101")
    sms = await Notification.get(id=got.tally.fallback_ids[0])
    assert (sms.channel, sms.recipient, sms.status, sms.fallback_of_id) == (
        NotificationChannel.SMS, "13900000001", S.PENDING, row.id)
    assert sms.content == "短信正文"


async def test_without_a_phone_a_failed_delivery_stays_failed_with_its_code(db, frozen):
    row = await a_wechat_row("5001", phone=None)
    got = await push.receive(Policy(), frozen, signed_now(frozen, "7"), sent_event("o_party", ("5001", 10005)))
    assert got.tally is not None and got.tally.fallback_ids == []
    row = await Notification.get(id=row.id)
    assert row.status is S.FAILED and row.provider_status == "failed" and row.last_error.startswith("10005")
    assert await Notification.filter(channel=NotificationChannel.SMS).count() == 0


async def test_malformed_results_write_nothing_not_even_the_nonce(db, frozen):
    row = await a_wechat_row("6001")
    bad = sent_event("o_party", ("6001", 0))
    bad["List"][0]["ErrorCode"] = "zero"
    with pytest.raises(push.PushMalformed):
        await push.receive(Policy(), frozen, signed_now(frozen, "8"), bad)
    assert await WechatPushNonce.all().count() == 0
    assert (await Notification.get(id=row.id)).status is S.SENT


async def test_nonces_out_of_the_window_are_forgotten(db, frozen):
    await push.receive(Policy(), frozen, signed_now(frozen, "10"), {"MsgType": "event", "Event": "x"})
    frozen.advance(minutes=9)
    await push.receive(Policy(), frozen, signed_now(frozen, "11"), {"MsgType": "event", "Event": "x"})
    frozen.advance(minutes=2)
    assert await push.forget_nonces(frozen) == 1
    assert [n.nonce for n in await WechatPushNonce.all()] == ["11"]


def test_the_push_settings_take_what_the_console_gives_and_refuse_the_rest():
    from backend.settings import Settings, SettingsError

    base = {"YANGGUANG_WECHAT_APPID": APPID}
    ok = Settings.from_env({**base, "YANGGUANG_WECHAT_PUSH_TOKEN": TOKEN, "YANGGUANG_WECHAT_PUSH_AES_KEY": AES_KEY})
    assert (ok.wechat_push_token, ok.wechat_push_aes_key) == (TOKEN, AES_KEY)
    assert Settings.from_env({}).wechat_push_token is None
    for bad in ({"YANGGUANG_WECHAT_PUSH_TOKEN": "ab"}, {"YANGGUANG_WECHAT_PUSH_TOKEN": "has space"},
                {"YANGGUANG_WECHAT_PUSH_TOKEN": TOKEN, "YANGGUANG_WECHAT_PUSH_AES_KEY": AES_KEY[:-1]},
                {"YANGGUANG_WECHAT_PUSH_AES_KEY": AES_KEY}):  # a key without the Token
        with pytest.raises(SettingsError):
            Settings.from_env({**base, **bad})
    with pytest.raises(SettingsError):  # the decrypted message names the appid: it must be known
        Settings.from_env({"YANGGUANG_WECHAT_PUSH_TOKEN": TOKEN, "YANGGUANG_WECHAT_PUSH_AES_KEY": AES_KEY})
