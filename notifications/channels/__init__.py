"""Channels deliver one notification row each. Blocking SDKs run in threads with hard timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from backend.models import Notification
from notifications.policy import AmbiguousError

T = TypeVar("T")


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    provider_status: str = "accepted"
    delivered: bool = False  # the sandbox "delivers" at once


@dataclass(frozen=True)
class Receipt:
    notification_id: Any
    provider_status: str  # delivered | failed | waiting
    error_code: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    name: str
    sandbox: bool

    async def send(self, n: Notification) -> Accepted: ...

    async def lookup(self, n: Notification) -> Accepted | None:
        """After an ambiguous attempt: did the provider accept this row already?"""
        ...

    async def receipts(self, rows: list[Notification]) -> list[Receipt]: ...


async def in_thread(executor: Executor | None, fn: Callable[..., T], *args: Any, seconds: float) -> T:
    """Run a blocking SDK call in a thread; give up waiting after ``seconds`` (the SDK's own
    timeouts stop the thread soon after). A timeout is ambiguous: the request may have landed."""
    try:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(executor, fn, *args), seconds)
    except TimeoutError as exc:
        raise AmbiguousError(f"no answer within {seconds:.0f}s", code="timeout") from exc
