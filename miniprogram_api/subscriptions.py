"""POST /mp/v1/subscriptions: the mini-program reports a subscription prompt's results.

The user is identified by a fresh ``wx.login`` code exchanged with WeChat (code2session), never by
an openid the client sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints

from backend.app_keys import SETTINGS, WECHAT
from backend.errors import DomainError, Unauthenticated
from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import Body
from backend.services import subscriptions
from backend.services.ratelimit import SUBSCRIPTIONS
from notifications.channels.sandbox import SandboxChannel
from notifications.policy import DeliveryError

routes = RouteTable("/mp/v1")

TemplateId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")]


class WechatUnavailable(DomainError):
    status = 503
    code = "wechat_not_configured"
    message = "已配置短信但未配置微信小程序，无法登记订阅"


class SubscriptionReport(Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="wx.login 得到的临时登录凭证")
    results: dict[TemplateId, Literal["accept", "reject", "ban", "filter"]] = Field(
        max_length=10, description="wx.requestSubscribeMessage 的结果：模板 id → accept/reject/ban/filter")
    binding_code: Annotated[str, StringConstraints(min_length=6, max_length=20)] | None = Field(
        None, description="立案时发给当事人的绑定码（可选）")


class SubscriptionResult(BaseModel):
    granted: int


@routes.route("POST", "/subscriptions", access=PUBLIC, summary="登记订阅消息授权结果", tag="miniprogram",
              body=SubscriptionReport, response=SubscriptionResult, status=201, errors=(401, 404, 422, 503),
              limit=SUBSCRIPTIONS)
async def report_subscriptions(call: Call[SubscriptionReport, None]) -> SubscriptionResult:
    channel = call.request.app[WECHAT]
    if channel is None:
        raise WechatUnavailable()
    try:
        session = await channel.code_to_session(call.body.code)
    except DeliveryError as exc:
        raise Unauthenticated("微信登录凭证无效或已过期", code="invalid_wx_code") from exc
    except Exception as exc:  # wechatpy raises its own errors for a refused code
        raise Unauthenticated("微信登录凭证无效或已过期", code="invalid_wx_code") from exc
    openid = session.get("openid")
    if not openid:
        raise Unauthenticated("微信登录凭证无效或已过期", code="invalid_wx_code")
    granted = await subscriptions.record_prompt(openid, dict(call.body.results), call.body.binding_code)
    return SubscriptionResult(granted=granted)


async def wechat_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the wx.login code exchange. With WeChat credentials, WeChat's; with no provider
    at all (the embedded default), the sandbox's, which can never run once credentials are set."""
    settings = app[SETTINGS]
    if settings.wechat_configured:
        from notifications.channels.wechat_subscribe import WechatSubscribeChannel

        app[WECHAT] = WechatSubscribeChannel(settings)
    elif not settings.sms_configured:
        app[WECHAT] = SandboxChannel("wechat")
    else:  # real SMS but no WeChat: a sandbox binding would divert a party's real messages from SMS
        app[WECHAT] = None
    yield
