"""Per-client limits for the public scan endpoints, cheap enough for the hottest path.

Each process keeps its own token bucket per client and decides at once; when Redis is configured,
the hits are also charged, in batches, to the shared bucket in Redis (the lead's ``RedisLimiter``),
and a client found over the shared budget is refused by this process until it has waited. So the
shared limit holds across processes within one batch window (about 50 ms), without a Redis round
trip on every scan.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from backend.services.ratelimit import Limit, LocalLimiter, Verdict


class BatchedLimiter:
    def __init__(self, shared: Any = None, window: float = 0.05) -> None:
        self.local = LocalLimiter()
        self.shared = shared  # RedisLimiter or None
        self.window = window
        self._owed: defaultdict[tuple[str, Limit], int] = defaultdict(int)
        self._blocked: dict[str, float] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def hit(self, key: str, limit: Limit) -> Verdict:
        now = time.monotonic()
        until = self._blocked.get(key)
        if until is not None:
            if until > now:
                return Verdict(False, until - now)
            del self._blocked[key]
        verdict = self.local.hit_now(key, limit, 1.0, now)
        if verdict.allowed and self.shared is not None:
            self._owed[(key, limit)] += 1
            if self._flushing is None:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
        return verdict

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(self.window)
            owed, self._owed = self._owed, defaultdict(int)
            for (key, limit), n in owed.items():
                verdict = await self.shared.hit(key, limit, float(n))
                if not verdict.allowed:
                    self._blocked[key] = time.monotonic() + max(verdict.retry_after, 1.0)
            if len(self._blocked) > 100_000:
                self._blocked.clear()
        finally:
            self._flushing = None
            if self._owed:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
