"""What a job needs, built once per process: channels, policy, clock and how to hand rows over."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from backend.clock import Clock
from backend.models.enums import NotificationChannel
from backend.settings import Settings
from notifications.channels import Channel
from notifications.channels.sandbox import SandboxChannel
from notifications.policy import Policy

# ([(notification id, attempts so far)], delay in seconds, job id tag) -> hand them to a worker
Dispatch = Callable[[list[tuple[uuid.UUID, int]], float, str], Awaitable[None]]


async def _no_dispatch(rows: list[tuple[uuid.UUID, int]], delay: float, tag: str = "") -> None:
    return None  # the relay will find the rows


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    policy: Policy
    channels: dict[NotificationChannel, Channel]
    dispatch: Dispatch = _no_dispatch
    executor: ThreadPoolExecutor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_postgres(self) -> bool:
        return not self.settings.database_is_sqlite


def build_channels(settings: Settings, executor: ThreadPoolExecutor | None,
                   clock: Clock) -> dict[NotificationChannel, Channel]:
    """Real providers when configured, sandbox otherwise (the embedded default)."""
    channels: dict[NotificationChannel, Channel] = {
        NotificationChannel.SMS: SandboxChannel("sms"),
        NotificationChannel.WECHAT: SandboxChannel("wechat"),
    }
    if settings.sms_configured:
        from notifications.channels.aliyun_sms import AliyunSmsChannel

        channels[NotificationChannel.SMS] = AliyunSmsChannel(settings, executor, clock)
    if settings.wechat_configured:
        from notifications.channels.wechat_subscribe import WechatSubscribeChannel

        channels[NotificationChannel.WECHAT] = WechatSubscribeChannel(settings, executor, clock)
    return channels


def policy_for(settings: Settings) -> Policy:
    """The delivery policy of this deployment: the workers' and the delivery push's alike."""
    return Policy(schedule=settings.notify_retry_schedule, daily_cap=settings.notify_daily_cap)


def build_deps(settings: Settings, clock: Clock | None = None, dispatch: Dispatch | None = None) -> Deps:
    # Blocking SDK calls need a thread each; the default executor has only cpu+4 threads.
    executor = ThreadPoolExecutor(max_workers=max(4, settings.notify_concurrency),
                                  thread_name_prefix="yg-notify")
    policy = policy_for(settings)
    clock = clock or Clock()
    return Deps(settings=settings, clock=clock, policy=policy,
                channels=build_channels(settings, executor, clock), dispatch=dispatch or _no_dispatch,
                executor=executor)
