"""``Authorization: Bearer <session_token>`` on the /mp/v1/me routes (access ``PARTY``)."""

from __future__ import annotations

from aiohttp import web

from backend.app_keys import CLOCK, SETTINGS
from backend.errors import Unauthenticated
from backend.services.parties import sessions
from backend.services.parties.sessions import PartySession


async def authenticate_party(request: web.Request) -> PartySession:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("请先登录小程序，并使用 Authorization: Bearer <会话令牌>", code="missing_session_token")
    session = await sessions.authenticate(token.strip(), request.app[SETTINGS], request.app[CLOCK])
    if session is None:
        raise Unauthenticated("登录已过期或已退出，请重新登录", code="invalid_session")
    return session
