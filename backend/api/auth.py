"""Bearer-key authentication and role checks for the agency and supervisor API."""

from __future__ import annotations

from aiohttp import web

from backend.app_keys import CLOCK
from backend.errors import Forbidden, Unauthenticated
from backend.models.enums import Role
from backend.services import apikeys, audit
from backend.services.apikeys import Principal
from backend.statemachine import ROLE_WORDS


def bearer(request: web.Request) -> str:
    """The key of ``Authorization: Bearer <key>``, or "" when the header is absent or another scheme."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key if scheme.lower() == "bearer" else ""


async def authenticate(request: web.Request, roles: frozenset[Role]) -> Principal:
    key = bearer(request)
    if not key:
        raise Unauthenticated("缺少访问密钥，请使用 Authorization: Bearer <密钥>", code="missing_api_key")
    return await admit(request, key, roles)


async def admit(request: web.Request, key: str, roles: frozenset[Role]) -> Principal:
    """The key's principal if it is valid and its role is one of ``roles``; 401 or 403 otherwise."""
    principal = await apikeys.authenticate(key.strip(), request.app[CLOCK])
    if principal is None:
        raise Unauthenticated("访问密钥无效或已吊销", code="invalid_api_key")
    if principal.role not in roles:
        raise Forbidden(f"“{ROLE_WORDS[principal.role]}”角色无权执行此操作", code="role_forbidden")
    audit.acting_as.set((principal.role.value, principal.holder))  # every audit entry of this request
    return principal
