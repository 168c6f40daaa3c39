"""Typed application keys for everything the app holds."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.clock import Clock
from backend.services.ratelimit import Limiter
from backend.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# redis.asyncio.Redis (arq's ArqRedis) when YANGGUANG_REDIS_URL is set, else None.
REDIS = web.AppKey("redis", Any)
# Extra startup/cleanup hooks that later packages (worker, caches) register.
SERVICES = web.AppKey("services", dict)
# Every rate limit of the app (backend.services.ratelimit); shares Redis when it is configured.
RATE_LIMITER = web.AppKey("rate_limiter", Limiter)
