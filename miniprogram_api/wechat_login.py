"""The mini-program's one wx.login code exchange (code2session), shared by the sign-in and the
subscription report: the user is whoever WeChat says the code belongs to, never an openid the client
sends.

With WeChat credentials the exchange is WeChat's (wechatpy's ``code_to_session`` at
``YANGGUANG_WECHAT_API_BASE``). With no provider configured at all (the embedded default) it is the
sandbox's, marked ``sandbox`` on everything it signs in; it can never run once WeChat or SMS
credentials are set, because a sandbox user bound to a party would divert that party's real messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from backend.app_keys import SETTINGS, WECHAT
from backend.errors import DomainError, Unauthenticated
from backend.services.parties import sessions
from notifications.channels.sandbox import SandboxChannel
from notifications.policy import PermanentError, RetryableError


class WechatUnavailable(DomainError):
    status = 503
    code = "wechat_not_configured"
    message = "已配置短信但未配置微信小程序，无法使用微信登录"


class WechatNotAnswering(DomainError):
    status = 503
    code = "wechat_unavailable"
    message = "微信服务暂时无法连接，请稍后重试"


@dataclass(frozen=True)
class WxUser:
    openid: str
    sandbox: bool


def _invalid() -> Unauthenticated:
    return Unauthenticated("微信登录凭证无效或已过期", code="invalid_wx_code")


async def exchange(app: web.Application, code: str) -> WxUser:
    """The WeChat user a fresh wx.login code belongs to. WeChat's session_key is dropped here: it
    never leaves this function, is never stored and never answered."""
    channel = app[WECHAT]
    if channel is None:
        raise WechatUnavailable()
    try:
        answer = await channel.code_to_session(code)
    except PermanentError as exc:
        raise _invalid() from exc
    except RetryableError as exc:
        raise WechatNotAnswering() from exc
    openid = answer.get("openid")
    if not isinstance(openid, str) or not openid or len(openid) > 64:
        raise _invalid()
    return WxUser(openid=openid, sandbox=bool(getattr(channel, "sandbox", False)))


async def wechat_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the wx.login code exchange. With WeChat credentials, WeChat's; with no provider
    at all (the embedded default), the sandbox's, which can never run once credentials are set."""
    settings = app[SETTINGS]
    if settings.wechat_configured:
        from notifications.channels.wechat_subscribe import WechatSubscribeChannel

        app[WECHAT] = WechatSubscribeChannel(settings)
    elif sessions.sandbox_allowed(settings):
        app[WECHAT] = SandboxChannel("wechat")
    else:  # real SMS but no WeChat: a sandbox binding would divert a party's real messages from SMS
        app[WECHAT] = None
    yield
