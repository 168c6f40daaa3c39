"""POST /mp/v1/subscriptions: the mini-program reports a subscription prompt's results.

The user is identified by a fresh ``wx.login`` code exchanged with WeChat (code2session,
``wechat_login.exchange``), never by an openid the client sends. Binding to a case is not done here:
it is ``POST /mp/v1/me/cases`` (single-use codes, rate-limited, the party told by SMS).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from backend.http.routing import PUBLIC, Call, RouteTable
from backend.http.schemas import Body
from backend.services import subscriptions
from backend.services.ratelimit import SUBSCRIPTIONS
from miniprogram_api import wechat_login

routes = RouteTable("/mp/v1")

TemplateId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")]


class SubscriptionReport(Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="wx.login 得到的临时登录凭证")
    results: dict[TemplateId, Literal["accept", "reject", "ban", "filter"]] = Field(
        max_length=10, description="wx.requestSubscribeMessage 的结果：模板 id → accept/reject/ban/filter")


class SubscriptionResult(BaseModel):
    granted: int


@routes.route("POST", "/subscriptions", access=PUBLIC, summary="登记订阅消息授权结果", tag="miniprogram",
              body=SubscriptionReport, response=SubscriptionResult, status=201, errors=(401, 503),
              limit=SUBSCRIPTIONS)
async def report_subscriptions(call: Call[SubscriptionReport, None]) -> SubscriptionResult:
    user = await wechat_login.exchange(call.request.app, call.body.code)
    granted = await subscriptions.record_prompt(user.openid, dict(call.body.results))
    return SubscriptionResult(granted=granted)
