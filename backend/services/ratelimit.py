"""Token buckets: in Redis when configured (shared by every process), in-process otherwise.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second. If Redis is
unreachable the limiter falls back to the process's own buckets rather than letting floods through.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("yangguang.ratelimit")


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: int

    @classmethod
    def per_minute(cls, n: int, burst: int | None = None) -> Limit:
        return cls(rate=n / 60.0, burst=burst or n)

    @classmethod
    def per_hour(cls, n: int, burst: int | None = None) -> Limit:
        return cls(rate=n / 3600.0, burst=burst or n)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float  # seconds until one token is available


class LocalLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    async def hit(self, key: str, limit: Limit, cost: float = 1.0) -> Verdict:
        return self.hit_now(key, limit, cost, time.monotonic())

    def hit_now(self, key: str, limit: Limit, cost: float, now: float) -> Verdict:
        tokens, last = self._buckets.pop(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)  # forget the least recently seen client
        return Verdict(allowed, 0.0 if allowed else (cost - tokens) / limit.rate)


# KEYS[1] bucket; ARGV rate, burst, cost. Redis's own clock keeps every process consistent.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring((cost - tokens) / rate)}
"""


class RedisLimiter:
    def __init__(self, redis: Any, prefix: str = "yg:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_LUA)
        self._fallback = LocalLimiter()

    async def hit(self, key: str, limit: Limit, cost: float = 1.0) -> Verdict:
        try:
            allowed, wait = await self._script(keys=[self._prefix + key], args=[limit.rate, limit.burst, cost])
        except Exception as exc:  # Redis down: keep limiting, per process
            log.warning("rate limiter falling back to in-process buckets: %s", type(exc).__name__)
            return await self._fallback.hit(key, limit, cost)
        return Verdict(bool(allowed), 0.0 if allowed else max(0.0, float(wait)))


RateLimiter = LocalLimiter | RedisLimiter
