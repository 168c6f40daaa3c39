"""WeChat's message push (消息推送) to the mini-program's server: who may push, and what a push does.

WeChat signs every request with the Token of the console: ``signature`` = sha1 of the sorted
(token, timestamp, nonce) — over no byte of the body. So a push is taken only if its timestamp is
within ``WINDOW`` of our clock and its (timestamp, nonce) was not taken before (``WechatPushNonce``,
written in the transaction that applies the push: a push that failed half-way may come again). In
safe mode (``YANGGUANG_WECHAT_PUSH_AES_KEY``) ``msg_signature`` also covers the encrypted body, and
plaintext pushes are refused: with the key configured nothing unencrypted is believed.

Bodies are XML or JSON, as the console says; both are parsed here with limits (size, depth,
elements) and no DTD at all (defusedxml: no entity expansion, no external entities).

What a push does: ``subscribe_msg_sent_event`` carries the outcome of subscribe messages we sent
(``notifications.receipts.wechat_results``); every other event is acknowledged and ignored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.etree.ElementTree import Element

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from backend.clock import Clock
from backend.errors import DomainError
from backend.models import WechatPushNonce
from backend.settings import Settings
from notifications.policy import Policy
from notifications.receipts import Tally, WechatResult, wechat_results

log = logging.getLogger("yangguang.wechat_push")

WINDOW = timedelta(minutes=5)  # a push's timestamp this far from our clock, either way, is refused
MAX_BODY_BYTES = 32 * 1024  # a sent event with a few dozen results is ~10 KiB; encrypted, a third more
MAX_ELEMENTS = 2000
MAX_DEPTH = 6
MAX_RESULTS = 100
SENT_EVENT = "subscribe_msg_sent_event"

_SIGNATURE = re.compile(r"[0-9a-f]{40}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[0-9A-Za-z_\-]{1,64}")
_ECHOSTR = re.compile(r"[0-9A-Za-z_\-]{1,128}")
_MSGID = re.compile(r"[0-9A-Za-z_\-]{1,64}")
_OPENID = re.compile(r"[0-9A-Za-z_\-]{1,64}")


class PushNotConfigured(DomainError):
    status = 404
    code = "wechat_push_not_configured"
    message = "未配置微信消息推送"


class PushSignatureInvalid(DomainError):
    status = 401
    code = "push_signature_invalid"
    message = "消息推送的签名缺失或不正确"


class PushTimestampStale(DomainError):
    status = 401
    code = "push_timestamp_stale"
    message = "消息推送的时间戳与服务器时间相差过大"


class PushReplayed(DomainError):
    status = 409
    code = "push_replayed"
    message = "该消息推送已处理过（时间戳与随机数重复）"


class PushEncryptionRequired(DomainError):
    status = 400
    code = "push_encryption_required"
    message = "已配置消息加密密钥：只接受安全模式（加密）的消息推送"


class PushDecryptFailed(DomainError):
    status = 400
    code = "push_decrypt_failed"
    message = "消息推送的密文无法解密"


class PushTooLarge(DomainError):
    status = 413
    code = "push_too_large"
    message = "消息推送的内容过长"


class PushMalformed(DomainError):
    status = 400
    code = "push_malformed"
    message = "消息推送的内容无法解析"


class PushQueryInvalid(DomainError):
    status = 400
    code = "push_query_invalid"
    message = "消息推送的查询参数不正确"


@dataclass(frozen=True)
class Signed:
    """The query of a request whose ``signature`` checked out: when and which nonce."""

    timestamp: int
    nonce: str


def check(settings: Settings, clock: Clock, signature: str | None, timestamp: str | None,
          nonce: str | None) -> Signed:
    """The request is WeChat's: signed with our Token, and its timestamp is fresh. Nothing is read
    from the database here; the nonce is taken with the push itself (``receive``)."""
    token = settings.wechat_push_token
    if not token:
        raise PushNotConfigured()
    if not (signature and timestamp and nonce):
        raise PushSignatureInvalid()
    if not (_SIGNATURE.fullmatch(signature) and _TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce)):
        raise PushQueryInvalid("签名、时间戳或随机数的格式不正确")
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        raise PushSignatureInvalid() from exc
    if abs(clock.now().timestamp() - int(timestamp)) > WINDOW.total_seconds():
        raise PushTimestampStale()
    return Signed(int(timestamp), nonce)


def echo(echostr: str | None) -> str:
    """The URL check's answer (after ``check``): ``echostr`` back, if it looks like WeChat's."""
    if not echostr or not _ECHOSTR.fullmatch(echostr):
        raise PushQueryInvalid("校验字符串缺失或格式不正确")
    return echostr


def open_body(settings: Settings, signed: Signed, raw: bytes, *, encrypt_type: str | None,
              msg_signature: str | None) -> dict[str, Any]:
    """The push's message as a dict (XML or JSON alike): decrypted and its ``msg_signature``
    checked in safe mode, which is the only mode accepted once the AES key is configured."""
    if len(raw) > MAX_BODY_BYTES:
        raise PushTooLarge()
    message = parse(raw)
    if not settings.wechat_push_aes_key:
        return message
    if encrypt_type != "aes" or not msg_signature:
        raise PushEncryptionRequired()
    encrypted = message.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise PushMalformed("安全模式的消息推送缺少密文")
    if not _SIGNATURE.fullmatch(msg_signature):
        raise PushQueryInvalid("消息体签名的格式不正确")
    crypto = WeChatCrypto(settings.wechat_push_token, settings.wechat_push_aes_key, settings.wechat_appid)
    try:
        # wechatpy checks msg_signature (sha1 of token, timestamp, nonce, Encrypt), then decrypts
        # and checks that the message is for our appid. A dict, so wechatpy parses no XML itself.
        plain = crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, str(signed.timestamp), signed.nonce)
    except InvalidSignatureException as exc:
        raise PushSignatureInvalid("消息推送的消息体签名不正确") from exc
    except Exception as exc:  # bad base64, padding, length or appid: a body we cannot read
        raise PushDecryptFailed() from exc
    inner = plain.encode("utf-8") if isinstance(plain, str) else bytes(plain)
    if len(inner) > MAX_BODY_BYTES:
        raise PushTooLarge()
    return parse(inner)


def parse(raw: bytes) -> dict[str, Any]:
    """XML (``<xml>…</xml>``) or JSON (an object) → dict; repeated XML elements become lists."""
    text = raw.lstrip()
    if text.startswith(b"<"):
        try:
            root = parse_xml(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (DefusedXmlException, SyntaxError, ValueError) as exc:  # ParseError is a SyntaxError
            raise PushMalformed() from exc
        counted = [0]
        value = _xml_value(root, 1, counted)
        if not isinstance(value, dict):
            raise PushMalformed()
        return value
    if text.startswith(b"{"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise PushMalformed() from exc
        _check_json(value, 1, [0])
        return dict(value)
    raise PushMalformed()


def _xml_value(el: Element, depth: int, counted: list[int]) -> Any:
    counted[0] += 1
    if depth > MAX_DEPTH or counted[0] > MAX_ELEMENTS:
        raise PushMalformed("消息推送的层级或元素过多")
    children = list(el)
    if not children:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        value = _xml_value(child, depth + 1, counted)
        if child.tag in out:
            existing = out[child.tag]
            out[child.tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[child.tag] = value
    return out


def _check_json(value: Any, depth: int, counted: list[int]) -> None:
    counted[0] += 1
    if depth > MAX_DEPTH or counted[0] > MAX_ELEMENTS:
        raise PushMalformed("消息推送的层级或元素过多")
    if depth == 1 and not isinstance(value, dict):
        raise PushMalformed()
    if isinstance(value, dict):
        for item in value.values():
            _check_json(item, depth + 1, counted)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1, counted)


def _text(item: dict[str, Any], name: str, limit: int) -> str:
    value = item.get(name, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise PushMalformed("订阅消息发送结果的字段不正确")
    return value


def sent_results(message: dict[str, Any]) -> tuple[str, list[WechatResult]] | None:
    """(openid, results) of a ``subscribe_msg_sent_event``; None for any other message."""
    if message.get("MsgType") != "event" or message.get("Event") != SENT_EVENT:
        return None
    openid = message.get("FromUserName")
    if not isinstance(openid, str) or not _OPENID.fullmatch(openid):
        raise PushMalformed("订阅消息发送结果缺少用户标识")
    # XML wraps the list in <SubscribeMsgSentEvent>; JSON has it at the top. One item comes as an
    # object rather than a list of one (WeChat does both).
    holder = message.get("SubscribeMsgSentEvent", message)
    items = holder.get("List") if isinstance(holder, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or len(items) > MAX_RESULTS:
        raise PushMalformed("订阅消息发送结果的列表缺失或过长")
    results = []
    for item in items:
        if not isinstance(item, dict):
            raise PushMalformed("订阅消息发送结果的列表不正确")
        msgid, code = _text(item, "MsgID", 64), _text(item, "ErrorCode", 12)
        if not _MSGID.fullmatch(msgid) or not re.fullmatch(r"-?[0-9]{1,10}", code):
            raise PushMalformed("订阅消息发送结果的消息编号或状态码不正确")
        results.append(WechatResult(template_id=_text(item, "TemplateId", 128), msgid=msgid, error_code=int(code),
                                    error_status=_text(item, "ErrorStatus", 200)))
    return openid, results


@dataclass(frozen=True)
class Received:
    event: str  # the message's Event (or MsgType), for the log
    tally: Tally | None  # None: not a sent event


async def receive(policy: Policy, clock: Clock, signed: Signed, message: dict[str, Any]) -> Received:
    """Take a checked push: its nonce and its receipts in one transaction. A (timestamp, nonce)
    taken before is ``PushReplayed`` and changes nothing."""
    parsed = sent_results(message)  # malformed results are refused before anything is written
    event = str(message.get("Event") or message.get("MsgType") or "")[:64]
    now = clock.now()
    async with in_transaction():
        try:
            await WechatPushNonce.create(timestamp=signed.timestamp, nonce=signed.nonce, received_at=now)
        except IntegrityError as exc:
            raise PushReplayed() from exc
        tally = None if parsed is None else await wechat_results(policy, parsed[0], parsed[1], now)
    if tally is not None:
        log.info("wechat delivery push: %d delivered, %d failed, %d unknown msgid(s), %d unchanged",
                 tally.delivered, tally.failed, tally.unknown, tally.unchanged)
    return Received(event, tally)


async def forget_nonces(clock: Clock) -> int:
    """Nonces whose timestamps are out of the window are refused as stale anyway: forget them."""
    return await WechatPushNonce.filter(received_at__lt=clock.now() - 2 * WINDOW).delete()
