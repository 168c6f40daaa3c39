"""A stand-in for the WeChat server API that the real wechatpy talks to.

Routes: ``GET /cgi-bin/token``, ``GET /sns/jscode2session``, ``POST /cgi-bin/message/subscribe/send``.
Magic: a js_code starting with ``bad`` is refused (40029); a js_code works once (40163 after, as
WeChat's do); openid = ``o_`` + the code up to an optional ``-`` (``p1-1`` and ``p1-2`` are two logins
of one user); every exchange is kept in ``logins`` (its query, the session_key answered); a ``touser``
containing ``noquota`` gets 43101 (no subscription quota); ``fail_first`` answers N sends with 500;
``expire_tokens()`` invalidates every issued token (next call sees 40001, as after a refresh elsewhere).
A message whose data breaks WeChat's field limits (thing ≤ 20 characters, character_string and number
≤ 32, phrase ≤ 5) is refused with 47003, as WeChat's send does.
"""

from __future__ import annotations

import argparse
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.base import ThreadedServer, serve_forever

APPID, SECRET = "wxTESTAPPID", "wxsecret"
FIELD_MAX = {"thing": 20, "character_string": 32, "number": 32, "letter": 32, "phrase": 5}


def _bad_field(data: Any) -> str | None:
    """The first key of a subscribe message's data whose value WeChat would refuse, or None."""
    if not isinstance(data, dict):
        return "data"
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            return key
        kind = key.rstrip("0123456789")
        if len(value) > FIELD_MAX.get(kind, 10_000):
            return key
    return None


@dataclass
class State:
    tokens: set[str] = field(default_factory=set)
    token_fetches: int = 0
    fail_first: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[dict[str, str]] = field(default_factory=list)
    used_codes: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1000))


def make_app(state: State | None = None) -> web.Application:
    app = web.Application()
    st = app["state"] = state or State()

    async def token(request: web.Request) -> web.Response:
        q = request.query
        if q.get("appid") != APPID or q.get("secret") != SECRET:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        st.token_fetches += 1
        tok = f"TOKEN{st.token_fetches}"
        st.tokens.add(tok)
        return web.json_response({"access_token": tok, "expires_in": 7200})

    async def jscode2session(request: web.Request) -> web.Response:
        q = request.query
        code = q.get("js_code", "")
        if q.get("appid") != APPID or q.get("secret") != SECRET or q.get("grant_type") != "authorization_code" \
                or not code or code.startswith("bad"):
            return web.json_response({"errcode": 40029, "errmsg": "invalid code"})
        if code in st.used_codes:
            return web.json_response({"errcode": 40163, "errmsg": "code been used"})
        st.used_codes.add(code)
        user = code.split("-", 1)[0]
        session_key = secrets.token_urlsafe(16)
        st.logins.append({**q, "session_key": session_key})
        return web.json_response({"openid": f"o_{user}", "session_key": session_key, "unionid": f"u_{user}"})

    async def send(request: web.Request) -> web.Response:
        if request.query.get("access_token") not in st.tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if st.fail_first > 0:
            st.fail_first -= 1
            return web.Response(status=500, text="busy")
        body = await request.json()
        if "noquota" in body.get("touser", ""):
            return web.json_response({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
        bad = _bad_field(body.get("data"))
        if bad is not None:
            return web.json_response({"errcode": 47003, "errmsg": f"argument invalid! data.{bad}.value invalid"})
        msgid = next(st._ids)
        st.messages.append({**body, "msgid": msgid})
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    app.router.add_get("/cgi-bin/token", token)
    app.router.add_get("/sns/jscode2session", jscode2session)
    app.router.add_post("/cgi-bin/message/subscribe/send", send)
    return app


class FakeWechat(ThreadedServer):
    def __init__(self, port: int | None = None) -> None:
        self.state = State()
        super().__init__(lambda: make_app(self.state), port)

    def messages(self) -> list[dict[str, Any]]:
        return self.call(lambda: list(self.state.messages))

    def configure(self, **values: Any) -> None:
        self.call(lambda: [setattr(self.state, k, v) for k, v in values.items()])

    def logins(self) -> list[dict[str, str]]:
        return self.call(lambda: list(self.state.logins))

    def expire_tokens(self) -> None:
        self.call(self.state.tokens.clear)

    def env(self) -> dict[str, str]:
        return {"YANGGUANG_WECHAT_APPID": APPID, "YANGGUANG_WECHAT_SECRET": SECRET,
                "YANGGUANG_WECHAT_API_BASE": self.url + "/"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    serve_forever(make_app, parser.parse_args().port)
