"""Per-client rate limits for the public surface (R-C6): every public route spends from a bucket."""

from __future__ import annotations

import functools
import hashlib

from aiohttp import web

from backend.api.credentials import SCAN_LIMITER
from backend.app_keys import SETTINGS
from backend.errors import RateLimited
from backend.services.ratelimit import Limit


@functools.lru_cache(maxsize=65_536)
def _hashed(remote: str) -> str:
    return hashlib.sha256(remote.encode()).hexdigest()[:24]


def client_key(request: web.Request) -> str:
    # Hashed and kept only in memory or Redis for the bucket's lifetime; never stored with a scan.
    return _hashed(request.remote or "?")


async def limit(request: web.Request, bucket: str, budget: Limit) -> None:
    verdict = await request.app[SCAN_LIMITER].hit(f"{bucket}:{client_key(request)}", budget)
    if not verdict.allowed:
        raise RateLimited(retry_after=verdict.retry_after)


@functools.lru_cache(maxsize=8)
def per_minute(n: int) -> Limit:
    return Limit.per_minute(n)


def scan_limit(request: web.Request) -> Limit:
    return per_minute(request.app[SETTINGS].scan_rate_per_minute)
