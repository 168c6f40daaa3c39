"""Typed application keys for everything the app holds (one home; no string-keyed dicts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from arq.connections import ArqRedis

from backend.clock import Clock
from backend.services.disclosure.verification import Verifier
from backend.services.ratelimit import Limiter
from backend.settings import Settings

if TYPE_CHECKING:  # these modules import this one
    from backend.http.fast import FastAnswers
    from backend.outbox import Outbox
    from backend.periodic import EmbeddedScheduler
    from notifications.channels.sandbox import SandboxChannel
    from notifications.channels.wechat_subscribe import WechatSubscribeChannel

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# arq's Redis pool when YANGGUANG_REDIS_URL is set, else None (the embedded default).
REDIS: web.AppKey[ArqRedis | None] = web.AppKey("redis")
# Every rate limit of the app (backend.services.ratelimit); shares Redis when it is configured.
RATE_LIMITER = web.AppKey("rate_limiter", Limiter)
# The scan's verifier: QR keys, the live-status cache, the scan recorder.
VERIFIER = web.AppKey("verifier", Verifier)
# Where handlers hand committed notification rows over (arq, or the in-process worker).
OUTBOX: web.AppKey[Outbox] = web.AppKey("outbox")
# The embedded default's runner of the periodic-job table (absent when an arq worker runs it).
SCHEDULER: web.AppKey[EmbeddedScheduler] = web.AppKey("scheduler")
# wx.login code exchange for the mini-program: WeChat's, the sandbox's (no provider at all), or None.
WECHAT: web.AppKey[WechatSubscribeChannel | SandboxChannel | None] = web.AppKey("wechat")
# The answers the protocol gives by itself (backend.http.fast; the scan), or None: backend.server reads it.
FAST_ANSWERS: web.AppKey[FastAnswers | None] = web.AppKey("fast_answers")
