"""The event loop every long-running process runs on: uvloop where it is installed (a dependency on
Linux and macOS: its transports, timers and callbacks are C, so a scan or a job costs less CPU),
asyncio's own loop otherwise or when YANGGUANG_EVENT_LOOP=asyncio. ``yangguang serve`` and
``yangguang worker`` both start through here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory(wanted: bool = True) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop, or None (asyncio's) when it is not wanted (``Settings.uvloop``) or not installed."""
    if not wanted:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_loop(main: Coroutine[Any, Any, T], *, uvloop: bool = True) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(uvloop)) as runner:
        return runner.run(main)
