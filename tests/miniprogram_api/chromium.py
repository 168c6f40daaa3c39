"""Headless Chromium (Debian's `chromium`) for rendering pages in tests: DOM dump, screenshot, and
what the page wrote to the browser console (script errors, Content-Security-Policy violations)."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium missing: apt-get install chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1",
         "--enable-logging=stderr", "--v=0"]  # the page's console messages go to stderr
# Chromium's log line of a console message: [pid:tid:time:INFO:CONSOLE:line] "text", source: url (line)
_CONSOLE = re.compile(r':CONSOLE(?::\d+|\(\d+\))\] "(.*)", source: ')


async def render(url: str, screenshot: Path, *, width: int = 390, height: int = 1200,
                 console: list[str] | None = None) -> str:
    """Load ``url`` like a phone-sized browser; write a screenshot and return the DOM after load.
    ``console`` receives every message the page logged to the console (an error included)."""
    assert CHROMIUM is not None
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yg-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
            f"--screenshot={screenshot}", "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    if console is not None:
        console.extend(m.group(1) for m in _CONSOLE.finditer(err.decode("utf-8", "replace")))
    return out.decode("utf-8", "replace")
