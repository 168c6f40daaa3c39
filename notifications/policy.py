"""Delivery policy as data: the retry schedule, which failures are worth retrying, fallbacks, caps.

Channels raise these exception types; ``notifications.tasks`` reads this module to decide what
happens next. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backend.models.enums import NotificationChannel

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 30, 120, 600, 1800, 7200)


class DeliveryError(Exception):
    """A delivery attempt did not end in the provider's acceptance."""

    def __init__(self, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class RetryableError(DeliveryError):
    """Worth trying again later: 5xx, throttling, network trouble."""


class AmbiguousError(RetryableError):
    """The provider may have accepted the message (a timeout after sending). Before sending again,
    ask the provider whether it did (Aliyun SendSms is not idempotent)."""


class ThrottledError(RetryableError):
    """The provider asks us to slow down (Aliyun isv.BUSINESS_LIMIT_CONTROL, WeChat 45009)."""


class PermanentError(DeliveryError):
    """Trying again cannot help: a bad number, a missing template, a refused signature."""


class NoConsentError(PermanentError):
    """WeChat: no subscription grant left (no grant in our ledger, or errcode 43101)."""


@dataclass(frozen=True)
class Policy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    daily_cap: int = 50  # per recipient and template: Aliyun's own daily limit for notifications
    # A permanent failure on a channel moves the message to this channel, if the party has it.
    fallback: dict[NotificationChannel, NotificationChannel] = field(
        default_factory=lambda: {NotificationChannel.WECHAT: NotificationChannel.SMS})

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def next_delay(self, attempts: int) -> float | None:
        """Seconds to wait after the ``attempts``-th failed attempt, or None when out of attempts."""
        if attempts < 1 or attempts > len(self.schedule):
            return None
        return self.schedule[attempts - 1]

    def fallback_for(self, channel: NotificationChannel) -> NotificationChannel | None:
        return self.fallback.get(channel)


def start_of_next_day(now: datetime) -> datetime:
    """Where a capped message waits: the provider's day starts again at midnight, Beijing time."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
