"""A stand-in for Aliyun Dysmsapi (RPC style, 2017-05-25) that the real aliyun-python-sdk-core talks to.

It checks the HMAC-SHA1 signature like Aliyun does, accepts SendSms and answers QuerySendDetails
from what it accepted. Magic, for fault tests:

- control (``POST /_control`` JSON, or ``FakeAliyun.state``): ``fail_first`` answers the next N
  SendSms with 500, ``throttle_first`` with ``isv.BUSINESS_LIMIT_CONTROL``, ``slow_first`` accepts
  the next N and then sleeps ``slow_seconds`` before answering (the client times out: ambiguous);
- phone numbers ending in 0500 always get 500, 0429 always throttled, 0400 ``isv.MOBILE_NUMBER_ILLEGAL``.

``GET /_messages`` lists every accepted message with its OutId.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from backend.clock import Clock
from tests.fakes.base import ThreadedServer, serve_forever

KEYS = {"testAK": "testSecret"}
_CLOCK = Clock()  # the provider dates sends by Beijing time, as Aliyun does


def _pct(s: str) -> str:
    return quote(s, safe="-_.~")


def signature(method: str, params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()) if k != "Signature")
    sts = f"{method}&%2F&{_pct(canonical)}"
    return base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()


@dataclass
class State:
    fail_first: int = 0
    throttle_first: int = 0
    slow_first: int = 0
    slow_seconds: float = 0.0
    latency: float = 0.0  # every accepted SendSms answers this much later (room to kill a worker)
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    send_requests: int = 0
    errors_sent: int = 0
    _biz: Any = field(default_factory=lambda: itertools.count(900000000))


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}, status=status)


def make_app(state: State | None = None) -> web.Application:
    app = web.Application()
    st = app["state"] = state or State()

    async def rpc(request: web.Request) -> web.Response:
        st.requests += 1
        params = dict(request.query)
        if request.can_read_body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        secret = KEYS.get(params.get("AccessKeyId", ""))
        if secret is None:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = signature(request.method, params, secret)
        if params.get("Signature") != expected:
            # The SDK splits the message on ':' -- keep Aliyun's wording.
            return _error(400, "SignatureDoesNotMatch",
                          "Specified signature is not matched with our calculation. server string to sign is:x")
        action = params.get("Action")
        if action == "SendSms":
            return await send_sms(params)
        if action == "SendBatchSms":
            return await send_batch(params)
        if action == "QuerySendDetails":
            return query(params)
        return _error(400, "InvalidAction.NotFound", "Specified api is not found")

    async def send_sms(p: dict[str, str]) -> web.Response:
        st.send_requests += 1
        phone = p.get("PhoneNumbers", "")
        if st.fail_first > 0 or phone.endswith("0500"):
            st.fail_first = max(0, st.fail_first - 1)
            st.errors_sent += 1
            return _error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if st.throttle_first > 0 or phone.endswith("0429"):
            st.throttle_first = max(0, st.throttle_first - 1)
            st.errors_sent += 1
            return web.json_response({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控",
                                      "RequestId": str(uuid.uuid4())})
        if phone.endswith("0400"):
            return web.json_response({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                                      "RequestId": str(uuid.uuid4())})
        if not p.get("SignName") or not p.get("TemplateCode"):
            return web.json_response({"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常",
                                      "RequestId": str(uuid.uuid4())})
        biz = f"{next(st._biz)}^0"
        st.messages.append({"phone": phone, "template": p.get("TemplateCode"), "sign": p.get("SignName"),
                            "params": json.loads(p.get("TemplateParam") or "{}"), "out_id": p.get("OutId", ""),
                            "biz_id": biz, "date": _CLOCK.now().strftime("%Y%m%d")})
        if st.slow_first > 0:
            st.slow_first -= 1
            await asyncio.sleep(st.slow_seconds)  # accepted, but the caller gives up first
        elif st.latency:
            await asyncio.sleep(st.latency)
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": str(uuid.uuid4())})

    async def send_batch(p: dict[str, str]) -> web.Response:
        st.send_requests += 1
        phones = json.loads(p.get("PhoneNumberJson") or "[]")
        signs = json.loads(p.get("SignNameJson") or "[]")
        params = json.loads(p.get("TemplateParamJson") or "[]")
        if not phones or len(phones) > 100 or not (len(phones) == len(signs) == len(params)):
            return web.json_response({"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常",
                                      "RequestId": str(uuid.uuid4())})
        if st.fail_first > 0 or any(ph.endswith("0500") for ph in phones):
            st.fail_first = max(0, st.fail_first - 1)
            st.errors_sent += 1
            return _error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if st.throttle_first > 0 or any(ph.endswith("0429") for ph in phones):
            st.throttle_first = max(0, st.throttle_first - 1)
            st.errors_sent += 1
            return web.json_response({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控",
                                      "RequestId": str(uuid.uuid4())})
        if any(ph.endswith("0400") for ph in phones):  # one bad number refuses the whole batch
            return web.json_response({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                                      "RequestId": str(uuid.uuid4())})
        biz = f"{next(st._biz)}^0"
        day = _CLOCK.now().strftime("%Y%m%d")
        for phone, sign, tp in zip(phones, signs, params, strict=True):
            st.messages.append({"phone": phone, "template": p.get("TemplateCode"), "sign": sign, "params": tp,
                                "out_id": p.get("OutId", ""), "biz_id": biz, "date": day,
                                "batch": True})
        if st.slow_first > 0:
            st.slow_first -= 1
            await asyncio.sleep(st.slow_seconds)
        elif st.latency:
            await asyncio.sleep(st.latency)
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": str(uuid.uuid4())})

    def query(p: dict[str, str]) -> web.Response:
        phone, day, biz = p.get("PhoneNumber", ""), p.get("SendDate", ""), p.get("BizId")
        rows = [m for m in st.messages if m["phone"] == phone and m["date"] == day and (not biz or m["biz_id"] == biz)]
        size = int(p.get("PageSize", "10"))
        page = int(p.get("CurrentPage", "1"))
        dtos = [{"PhoneNum": m["phone"], "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m["template"],
                 "Content": "", "SendDate": m["date"], "ReceiveDate": m["date"], "OutId": m["out_id"]}
                for m in rows[(page - 1) * size: page * size]]
        return web.json_response({"Code": "OK", "Message": "OK", "TotalCount": len(rows),
                                  "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}, "RequestId": str(uuid.uuid4())})

    async def control(request: web.Request) -> web.Response:
        body = await request.json()
        if body.pop("reset", False):
            st.messages.clear()
            st.requests = st.send_requests = st.errors_sent = 0
        for key, value in body.items():
            setattr(st, key, value)
        return web.json_response({"ok": True})

    async def messages(request: web.Request) -> web.Response:
        return web.json_response({"messages": st.messages, "requests": st.requests,
                                  "send_requests": st.send_requests, "errors_sent": st.errors_sent})

    app.router.add_route("*", "/", rpc)
    app.router.add_post("/_control", control)
    app.router.add_get("/_messages", messages)
    return app


class FakeAliyun(ThreadedServer):
    def __init__(self, port: int | None = None) -> None:
        self.state = State()
        super().__init__(lambda: make_app(self.state), port)

    def configure(self, **values: Any) -> None:
        self.call(lambda: [setattr(self.state, k, v) for k, v in values.items()])

    def messages(self) -> list[dict[str, Any]]:
        return self.call(lambda: list(self.state.messages))

    def env(self) -> dict[str, str]:
        return {"YANGGUANG_ALIYUN_ACCESS_KEY_ID": "testAK", "YANGGUANG_ALIYUN_ACCESS_KEY_SECRET": "testSecret",
                "YANGGUANG_ALIYUN_SMS_SIGN_NAME": "阳光执法", "YANGGUANG_ALIYUN_SMS_ENDPOINT": self.url}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    serve_forever(make_app, parser.parse_args().port)
