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
