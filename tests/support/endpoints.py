"""Helpers that walk the app's declared endpoints, for the access and garbage meta-tests."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from backend.api.system import ENDPOINTS
from backend.http.routing import Endpoint


def endpoints(app: web.Application) -> list[Endpoint]:
    return list(app[ENDPOINTS])


def concrete_path(ep: Endpoint) -> str:
    """Fill every path parameter with a random UUID (or a random token for `token` params)."""
    def fill(m: re.Match[str]) -> str:
        return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" if "token" in m.group(1) else str(uuid.uuid4())

    return re.sub(r"\{(\w+)(?::[^}]*)?\}", fill, ep.path)


def error_of(body: object) -> tuple[str, str]:
    """(code, message) of an error body in either of our shapes: {"error": {"code", "message"}}, or the
    Open311 surface's GeoReport array of {"code", "description"}."""
    if isinstance(body, list):
        assert len(body) >= 1 and set(body[0]) == {"code", "description"}, body
        return body[0]["code"], body[0]["description"]
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    return body["error"]["code"], body["error"]["message"]
