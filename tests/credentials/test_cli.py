"""`yangguang demo` issues demo credentials with QR images and a sheet; `credentials print-sheet` from the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from backend.demo import DEMO_AGENCY_CODE
from tests.conftest import PUBLIC_BASE
from tests.qr.zbar import decode, needs_zbar

ROOT = Path(__file__).resolve().parents[2]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YANGGUANG_DATA_DIR": str(data_dir), "YANGGUANG_PUBLIC_BASE_URL": PUBLIC_BASE,
           "YANGGUANG_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    env.pop("YANGGUANG_DATABASE_URL", None)
    env.pop("YANGGUANG_REDIS_URL", None)
    out = subprocess.run([sys.executable, "-m", "backend.cli", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


@needs_zbar
def test_demo_issues_cards_writes_qr_images_and_a_sheet_and_is_idempotent(tmp_path):
    data = tmp_path / "data"
    first = run(data, "demo").stdout
    urls = re.findall(rf"{re.escape(PUBLIC_BASE)}/v/[A-Za-z0-9_-]{{30}}", first)
    assert len(urls) == 3  # three enforcement officers; the auxiliary one gets no card
    pngs = sorted((data / "demo" / "qr").glob("*.png"))
    assert len(pngs) == 3
    assert sorted(u for p in pngs for u in decode(p, tmp_path)) == sorted(urls)
    assert sorted(decode(data / "demo" / "print-sheet-01.png", tmp_path)) == sorted(urls)
    assert (data / "demo" / "print-sheet.pdf").read_bytes().startswith(b"%PDF")
    again = run(data, "demo").stdout
    assert re.findall(rf"{re.escape(PUBLIC_BASE)}/v/[A-Za-z0-9_-]{{30}}", again) == urls

    out_dir = tmp_path / "sheets"
    printed = run(data, "credentials", "print-sheet", "--agency", DEMO_AGENCY_CODE, "--out", str(out_dir))
    assert "3/3" in printed.stderr and "#" in printed.stderr  # the progress bar
    assert sorted(decode(out_dir / "print-sheet-01.png", tmp_path)) == sorted(urls)
    assert run(data, "credentials", "expire").stdout.startswith("已将 0 张")
