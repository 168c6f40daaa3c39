"""Headless Chromium (Debian's `chromium`) for rendering pages in tests: DOM dump and screenshot."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium missing: apt-get install chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


async def render(url: str, screenshot: Path, *, width: int = 390, height: int = 1200) -> str:
    """Load ``url`` like a phone-sized browser; write a screenshot and return the DOM after load."""
    assert CHROMIUM is not None
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yg-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
            f"--screenshot={screenshot}", "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode("utf-8", "replace")
