"""WeChat's message push (消息推送) to the mini-program's server: ``/wechat/v1/push``.

GET is the console's URL check (echo ``echostr``); POST carries events, of which we use
``subscribe_msg_sent_event`` (each subscribe message's delivery). Thin on purpose: WeChat wants
"success" within 5 seconds, and the rules are in ``backend.services.wechat_push``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints

from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import SIGNED, Call, RouteTable, read_bounded
from backend.outbox import get_outbox
from backend.services import wechat_push
from backend.services.ratelimit import WECHAT_PUSHES
from notifications.deps import policy_for

routes = RouteTable("/wechat/v1")

Param = Annotated[str, StringConstraints(max_length=128)]


class PushCheckQuery(BaseModel):
    signature: Param | None = Field(None, description="sha1(排序后的 token、timestamp、nonce)",
                                    examples=["0a3f0d3fbd2bd2d2cfd4df1b7e9bb9b6e3c7c9d1"])
    timestamp: Param | None = Field(None, description="微信服务器的 Unix 时间戳（秒）", examples=["1796198400"])
    nonce: Param | None = Field(None, description="随机数", examples=["1405972312"])
    echostr: Param | None = Field(None, description="原样返回的随机字符串", examples=["6583207418327474234"])


class PushQuery(BaseModel):
    signature: Param | None = Field(None, description="sha1(排序后的 token、timestamp、nonce)")
    timestamp: Param | None = Field(None, description="微信服务器的 Unix 时间戳（秒）", examples=["1796198400"])
    nonce: Param | None = Field(None, description="随机数", examples=["1405972312"])
    openid: Param | None = Field(None, description="用户 openid（微信附带，不使用）")
    encrypt_type: Param | None = Field(None, description="安全模式为 aes", examples=["aes"])
    msg_signature: Param | None = Field(None, description="安全模式：sha1(排序后的 token、timestamp、nonce、Encrypt)")


SENT_XML = """<xml>
  <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
  <FromUserName><![CDATA[o_party_openid]]></FromUserName>
  <CreateTime>1796198400</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe_msg_sent_event]]></Event>
  <SubscribeMsgSentEvent>
    <List>
      <TemplateId><![CDATA[YG_WX_DECISION_PUBLISHED]]></TemplateId>
      <MsgID>1864323726461255680</MsgID>
      <ErrorCode>0</ErrorCode>
      <ErrorStatus><![CDATA[success]]></ErrorStatus>
    </List>
  </SubscribeMsgSentEvent>
</xml>"""
SENT_JSON: dict[str, Any] = {
    "ToUserName": "gh_123456789abc", "FromUserName": "o_party_openid", "CreateTime": "1796198400",
    "MsgType": "event", "Event": "subscribe_msg_sent_event",
    "List": [{"TemplateId": "YG_WX_DECISION_PUBLISHED", "MsgID": "1864323726461255680", "ErrorCode": "43101",
              "ErrorStatus": "user refuse to accept the msg"}]}
RAW_BODY = {
    "required": True,
    "description": ("小程序后台「消息推送」所选的数据格式（XML 或 JSON）；安全模式下为 {ToUserName, Encrypt}。"
                    f"至多 {wechat_push.MAX_BODY_BYTES} 字节，不接受 DTD/实体"),
    "content": {
        "text/xml": {"schema": {"type": "string"}, "example": SENT_XML},
        "application/json": {"schema": {"type": "object"}, "example": SENT_JSON},
    },
}


@dataclass(frozen=True)
class Verified:
    signed: wechat_push.Signed
    message: dict[str, Any] | None  # POST: the push's message, decrypted in safe mode


def _signed(request: web.Request) -> wechat_push.Signed:
    q = request.query
    return wechat_push.check(request.app[SETTINGS], request.app[CLOCK], q.get("signature"), q.get("timestamp"),
                             q.get("nonce"))


async def verify_check(request: web.Request) -> Verified:
    return Verified(_signed(request), None)


async def verify_push(request: web.Request) -> Verified:
    signed = _signed(request)  # before a byte of the body is read
    raw = await read_bounded(request, wechat_push.MAX_BODY_BYTES, wechat_push.PushTooLarge)
    message = wechat_push.open_body(request.app[SETTINGS], signed, raw, encrypt_type=request.query.get("encrypt_type"),
                                    msg_signature=request.query.get("msg_signature"))
    return Verified(signed, message)


@routes.route("GET", "/push", access=SIGNED, verify=verify_check, summary="微信消息推送：服务器地址校验",
              tag="wechat", query=PushCheckQuery, produces="text/plain", errors=(400, 401, 404),
              limit=WECHAT_PUSHES)
async def check_push_url(call: Call[None, PushCheckQuery]) -> web.Response:
    return web.Response(text=wechat_push.echo(call.request.query.get("echostr")), content_type="text/plain")


@routes.route("POST", "/push", access=SIGNED, verify=verify_push, raw_body=RAW_BODY,
              summary="微信消息推送：事件（订阅消息发送结果 subscribe_msg_sent_event）", tag="wechat",
              query=PushQuery, produces="text/plain", errors=(400, 401, 404, 409, 413), limit=WECHAT_PUSHES)
async def receive_push(call: Call[None, PushQuery]) -> web.Response:
    verified: Verified = call.principal
    assert verified.message is not None  # verify_push always parses the body
    app = call.request.app
    received = await wechat_push.receive(policy_for(app[SETTINGS]), app[CLOCK], verified.signed, verified.message)
    if received.tally is not None:
        await get_outbox(app).dispatch(received.tally.fallback_ids)  # after commit: the SMS fallbacks
    return web.Response(text="success", content_type="text/plain")
