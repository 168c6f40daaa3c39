"""Mini-program sessions: opaque, random, stored hashed, expiring by the injected clock, revocable.

A session is issued after WeChat (or, in the embedded default, the sandbox) vouched for the openid
of a wx.login code. The token is ``mps_`` + 43 URL-safe characters (256 random bits); only its
SHA-256 is stored. WeChat's session_key is never stored. A sandbox session works only while no WeChat
or SMS credentials are configured: configuring them ends every sandbox session at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from backend.clock import Clock
from backend.models import MpSession
from backend.settings import Settings

TOKEN_PREFIX = "mps_"
TOKEN_SHAPE = re.compile(r"mps_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class PartySession:
    """The signed-in WeChat user of a /mp/v1/me request."""

    session_id: uuid.UUID
    openid: str
    sandbox: bool

    @property
    def actor(self) -> str:
        return f"mp:{self.session_id}"


@dataclass(frozen=True)
class Issued:
    token: str  # shown once
    expires_in: int  # seconds
    sandbox: bool


def sandbox_allowed(settings: Settings) -> bool:
    """The sandbox sign-in exists only in the embedded default: no WeChat and no SMS credentials."""
    return not settings.wechat_configured and not settings.sms_configured


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(openid: str, *, sandbox: bool, settings: Settings, clock: Clock) -> Issued:
    if sandbox and not sandbox_allowed(settings):
        raise RuntimeError("sandbox sign-in with credentials configured")  # wechat_login never allows it
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    await MpSession.create(token_hash=token_hash(token), openid=openid, sandbox=sandbox, created_at=now,
                           expires_at=now + timedelta(seconds=settings.mp_session_ttl))
    return Issued(token=token, expires_in=settings.mp_session_ttl, sandbox=sandbox)


async def authenticate(token: str, settings: Settings, clock: Clock) -> PartySession | None:
    """The live session a token names, or None (unknown, expired, revoked, or a sandbox session once
    credentials are configured). Malformed tokens are refused before any query."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    row = await MpSession.filter(token_hash=token_hash(token), revoked_at__isnull=True).first()
    if row is None or row.expires_at <= clock.now():
        return None
    if row.sandbox and not sandbox_allowed(settings):
        return None
    return PartySession(session_id=row.id, openid=row.openid, sandbox=row.sandbox)


async def revoke(session: PartySession, clock: Clock) -> None:
    await MpSession.filter(id=session.session_id, revoked_at__isnull=True).update(revoked_at=clock.now())
