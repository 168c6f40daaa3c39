"""Rate limits, in one place: how a limit is declared, and the token buckets that enforce it.

Declaring: a ``Rule`` names a bucket, its budget (from the settings) and whose budget it is
(``client``: the caller's address; ``agency``: the calling agency). The rules of the service are the
constants below. A route states its rule in the route table (``limit=RULE``) and the route wrapper
charges it first, before the query or the body is read; a handler that spends a budget only when it
actually does something (an agency's notices) calls ``spend``.

Enforcing: ``Limiter`` decides at once from the process's own buckets; when Redis is configured
(``RedisLimiter``) the hits are also charged, in batches, to the shared bucket in Redis, and a
client found over the shared budget is refused by this process until it has waited. So the shared
limit holds across processes within one batch window (about 50 ms), without a Redis round trip on
every scan. ``exact`` rules (costly actions) ask Redis on every hit. If Redis is unreachable the
limiter falls back to the process's own buckets rather than letting floods through.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second.

Counted windows (``Windows``): "1 a minute, 5 an hour, 10 a day" for one phone number, counted over
rows the domain stores anyway (the SMS codes sent) with the injected clock, so they survive restarts
and a lost Redis, and hold exactly across processes.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from backend.errors import RateLimited
from backend.settings import Settings

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


ALLOWED = Verdict(True, 0.0)  # shared: an allowed hit allocates nothing


class LocalLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        # Kept in recency order (a key is popped and re-inserted on every hit): the first key is the
        # least recently seen client. An OrderedDict, so forgetting it stays O(1) under a flood of
        # distinct clients (a plain dict's first key can sit behind many deleted slots).
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    async def hit(self, key: str, limit: Limit, cost: float = 1.0) -> Verdict:
        return self.hit_now(key, limit, cost, time.monotonic())

    def hit_now(self, key: str, limit: Limit, cost: float, now: float) -> Verdict:
        buckets = self._buckets
        bucket = buckets.pop(key, None)
        burst = limit.burst
        tokens = burst if bucket is None else min(burst, bucket[0] + (now - bucket[1]) * limit.rate)
        if tokens >= cost:
            buckets[key] = (tokens - cost, now)
            verdict = ALLOWED
        else:
            buckets[key] = (tokens, now)
            verdict = Verdict(False, (cost - tokens) / limit.rate)
        if len(buckets) > self._max_keys:
            buckets.popitem(last=False)  # forget the least recently seen client
        return verdict


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


class Limiter:
    """The app's limiter: per-process buckets, charged in batches to Redis when it is configured."""

    def __init__(self, shared: RedisLimiter | None = None, window: float = 0.05) -> None:
        self.local = LocalLimiter()
        self.shared = shared
        self.window = window
        self._owed: dict[str, list[Any]] = {}  # key -> [limit, hits not yet charged to Redis]
        self._blocked: dict[str, float] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def hit(self, key: str, limit: Limit, *, exact: bool = False) -> Verdict:
        if exact and self.shared is not None:
            return await self.shared.hit(key, limit)
        return self.hit_now(key, limit)

    def hit_now(self, key: str, limit: Limit) -> Verdict:
        """Decide from this process's buckets at once; the hit is charged to Redis in the next batch."""
        now = time.monotonic()
        if self._blocked:
            until = self._blocked.get(key)
            if until is not None:
                if until > now:
                    return Verdict(False, until - now)
                del self._blocked[key]
        verdict = self.local.hit_now(key, limit, 1.0, now)
        if verdict.allowed and self.shared is not None:
            owed = self._owed.get(key)
            if owed is None:
                self._owed[key] = [limit, 1]
            else:
                owed[1] += 1
            if self._flushing is None:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
        return verdict

    async def settled(self) -> None:
        """Wait until every hit so far has been charged to Redis (tests, shutdown)."""
        while (task := self._flushing) is not None:
            await task

    async def _flush(self) -> None:
        assert self.shared is not None
        try:
            await asyncio.sleep(self.window)
            owed, self._owed = self._owed, {}
            for key, (limit, n) in owed.items():
                verdict = await self.shared.hit(key, limit, float(n))
                if not verdict.allowed:
                    self._blocked[key] = time.monotonic() + max(verdict.retry_after, 1.0)
            if len(self._blocked) > 100_000:
                self._blocked.clear()
        finally:
            self._flushing = None
            if self._owed:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())


# --- declaring limits ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Rule:
    name: str  # the bucket's name, part of its key
    budget: Callable[[Settings], Limit]
    per: Literal["client", "agency", "session"] = "client"  # session: a mini-program sign-in
    exact: bool = False  # every hit checked against the shared bucket (costly actions)
    code: str = RateLimited.code
    message: str = RateLimited.message
    # The last settings seen and their budget: the budget is computed once, not on every request.
    _cache: dict[int, tuple[Settings, Limit]] = field(default_factory=dict, repr=False)

    def limit(self, settings: Settings) -> Limit:
        cached = self._cache.get(0)
        if cached is None or cached[0] is not settings:
            cached = self._cache[0] = (settings, self.budget(settings))
        return cached[1]


# Public routes, per client (R-C6).
SCANS = Rule("scan", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# A citizen rates an encounter or two; the budget is an hour's worth of scans per hour.
RATINGS = Rule("rating", lambda s: Limit.per_hour(s.scan_rate_per_minute, burst=10))
DECISIONS = Rule("decision", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# An agency's public registers (JSON and H5 pages): cheap reads, the scan budget per client.
REGISTERS = Rule("register", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# The public search of decisions (JSON and the H5 page): the scan budget per client, a bucket of its own.
DECISION_SEARCHES = Rule("decision_search", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# The transparency log's public checkpoint and keys: cheap reads, the scan budget per client.
LOG_READS = Rule("log", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# Each report costs a call to WeChat and may carry a binding code: a small budget per client.
SUBSCRIPTIONS = Rule("subscriptions", lambda s: Limit.per_minute(10))
# WeChat's message push: a few of WeChat's servers push one event per message sent, so a publication
# to many parties arrives as a burst from one address. Generous; forged floods are charged here first.
WECHAT_PUSHES = Rule("wechat_push", lambda s: Limit.per_minute(6000, burst=1000))
# An agency's own notices to parties (R-N4): each one is an SMS, so checked exactly.
AGENCY_NOTICES = Rule("notice", lambda s: Limit.per_hour(s.agency_notice_per_hour), per="agency", exact=True,
                      code="notice_rate_limited", message="本机构本小时的通知数量已达上限")


# The mini-program sign-in: each one costs a call to WeChat.
MP_SIGN_IN = Rule("mp_session", lambda s: Limit.per_minute(10), code="sign_in_rate_limited",
                  message="登录过于频繁，请稍后再试")
# Binding attempts (a binding code or an SMS code) on both the client and the session, checked
# exactly: with 10 tries an hour, guessing a 40-bit binding code (or a 6-digit code with its 5 tries)
# is out of reach.
BINDING_PER_CLIENT = Rule("binding", lambda s: Limit.per_hour(30, burst=10), exact=True,
                          code="binding_rate_limited", message="绑定尝试过于频繁，请稍后再试")
BINDING_PER_SESSION = Rule("binding_session", lambda s: Limit.per_hour(10, burst=5), per="session", exact=True,
                           code="binding_rate_limited", message="绑定尝试过于频繁，请稍后再试")
# Asking for an SMS binding code: per client, besides the per-number windows below.
BINDING_SMS_PER_CLIENT = Rule("binding_sms", lambda s: Limit.per_hour(10, burst=3), exact=True,
                              code="sms_code_rate_limited", message="验证码发送过于频繁，请稍后再试")
# A party's own reads and settings in the mini-program.
PARTY_READS = Rule("party", lambda s: Limit.per_minute(s.scan_rate_per_minute), per="session")


@dataclass(frozen=True)
class Windows:
    """At most ``n`` events in every trailing ``span``, counted over stored event times."""

    name: str
    windows: tuple[tuple[timedelta, int], ...]
    code: str = RateLimited.code
    message: str = RateLimited.message

    @property
    def longest(self) -> timedelta:
        return max(span for span, _ in self.windows)

    def check(self, times: Iterable[datetime], now: datetime) -> None:
        """RateLimited (with the wait until the oldest event of a full window leaves it) when one more
        event now would exceed a window."""
        past = sorted(times, reverse=True)
        for span, n in self.windows:
            recent = [t for t in past if t > now - span]
            if len(recent) >= n:
                raise RateLimited(self.message, code=self.code,
                                  retry_after=max(1.0, (recent[n - 1] + span - now).total_seconds()))


# SMS binding codes to one phone number: 1 a minute, 5 an hour, 10 a day (trailing windows).
BINDING_SMS_PER_NUMBER = Windows("binding_sms_number", ((timedelta(minutes=1), 1), (timedelta(hours=1), 5),
                                                        (timedelta(days=1), 10)),
                                 code="sms_code_rate_limited", message="该手机号接收验证码过于频繁，请稍后再试")


@functools.lru_cache(maxsize=65_536)
def client_subject(remote: str | None) -> str:
    """A client's bucket key: its address hashed, kept only in memory or Redis for the bucket's lifetime
    and never stored with a scan."""
    return hashlib.sha256((remote or "?").encode()).hexdigest()[:24]


async def spend(limiter: Limiter, rule: Rule, settings: Settings, subject: str) -> None:
    """Charge one hit to ``subject``'s bucket of ``rule``; RateLimited when it is empty."""
    verdict = await limiter.hit(f"{rule.name}:{subject}", rule.limit(settings), exact=rule.exact)
    if not verdict.allowed:
        raise RateLimited(rule.message, code=rule.code, retry_after=verdict.retry_after)


def charger(limiter: Limiter, rule: Rule, settings: Settings) -> Callable[[str], None]:
    """``spend`` for a rule that is not ``exact``, as a function of the subject, for the route wrapper:
    the budget and the key prefix are worked out once, and a hit is decided from the process's
    buckets with no I/O and no await (every scan is charged this way)."""
    if rule.exact:
        raise ValueError(f"rule {rule.name} is exact: use spend()")
    limit, prefix, hit_now = rule.limit(settings), f"{rule.name}:", limiter.hit_now

    def charge(subject: str) -> None:
        verdict = hit_now(prefix + subject, limit)
        if verdict is not ALLOWED and not verdict.allowed:
            raise RateLimited(rule.message, code=rule.code, retry_after=verdict.retry_after)

    return charge


# --- complaints from the public (R-X1) -------------------------------------------------------------

# Each upload is decoded in a worker thread: a phone's worth of photos a minute, a few complaints' an hour.
COMPLAINT_UPLOADS = Rule("complaint_upload", lambda s: Limit.per_hour(60, burst=18))
COMPLAINTS = Rule("complaint", lambda s: Limit.per_hour(10, burst=5))
# Following a complaint by (tracking number, query code): a wrong pair costs as much as a right one,
# so the 8-character query code cannot be guessed through this door.
COMPLAINT_LOOKUPS = Rule("complaint_lookup", lambda s: Limit.per_hour(60, burst=20))
# Each request sends an SMS: per client here, and per number in PHONE_CODE_WINDOWS.
PHONE_CODE_REQUESTS = Rule("phone_code", lambda s: Limit.per_hour(10, burst=5))


# SMS codes to one phone number: 1 a minute, 5 an hour, 10 a day.
PHONE_CODE_WINDOWS = Windows("phone_code_number", ((timedelta(minutes=1), 1), (timedelta(hours=1), 5),
                                                  (timedelta(days=1), 10)),
                             code="phone_code_rate_limited", message="该号码获取验证码过于频繁，请稍后再试")


# --- Open311 GeoReport v2 (12345 hotline platforms) -------------------------------------------------

# The service list and definitions are public: the scan budget per client.
OPEN311_DISCOVERY = Rule("open311_discovery", lambda s: Limit.per_minute(s.scan_rate_per_minute))
# A city's hotline passes on every call it takes: per integrator agency, a busy hour's worth a minute.
OPEN311_FILINGS = Rule("open311_filing", lambda s: Limit.per_minute(600, burst=200), per="agency")
OPEN311_READS = Rule("open311_read", lambda s: Limit.per_minute(s.scan_rate_per_minute), per="agency")
