"""Decode QR codes with a real decoder: Debian's zbarimg (zbar-tools)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ZBARIMG = shutil.which("zbarimg")
needs_zbar = pytest.mark.skipif(ZBARIMG is None, reason="zbarimg missing: apt-get install zbar-tools")


def decode(png: bytes | Path, tmp_path: Path) -> list[str]:
    """Every QR payload in the image, one per symbol, in no particular order."""
    assert ZBARIMG is not None
    if isinstance(png, bytes):
        path = tmp_path / "decode.png"
        path.write_bytes(png)
    else:
        path = png
    out = subprocess.run([ZBARIMG, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(path)],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.split()
