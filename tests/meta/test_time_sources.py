"""All time comes from the injected clock (backend/clock.py).

The service dates everything in Asia/Shanghai; the host may be in UTC (CI) or anywhere else. A
``date.today()`` in a test disagreed with the service for eight hours a day, so reading the host's
time is forbidden everywhere but the clock module. A line may read the wall clock only where a
library compares against it itself, and says so with a ``# wall-clock:`` comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "miniprogram_api", "notifications", "qr", "migrations", "tests", "bench", "scripts")
CLOCK_MODULE = ROOT / "backend" / "clock.py"
FORBIDDEN = {("date", "today"), ("datetime", "today"), ("datetime", "now"), ("datetime", "utcnow"),
             ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"),
             ("time", "ctime"), ("datetime", "fromtimestamp"), ("date", "fromtimestamp")}
MARKER = "# wall-clock:"


def host_time_reads(source: str) -> list[tuple[int, str]]:
    """(line, call) for every call that reads the host's clock or time zone, unless marked."""
    lines = source.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            pair = (name, func.attr)
        elif isinstance(func, ast.Name) and func.id in {"today", "now", "utcnow", "localtime", "gmtime"}:
            pair = ("", func.id)  # from datetime import … / from time import …
        else:
            continue
        if pair[1] == "fromtimestamp" and (len(node.args) > 1 or any(k.arg == "tz" for k in node.keywords)):
            continue  # converts a given instant into a named zone: reads neither clock nor host zone
        if pair in FORBIDDEN or (pair[0] == "" and pair[1] in {"utcnow", "localtime", "gmtime"}):
            if MARKER not in lines[node.lineno - 1]:
                found.append((node.lineno, ".".join(p for p in pair if p)))
    return found


def python_files() -> list[Path]:
    out: list[Path] = []
    for package in PACKAGES:
        out += sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []
    return [p for p in out if p != CLOCK_MODULE]


def test_nothing_but_the_clock_module_reads_the_host_clock():
    offenders = [f"{path.relative_to(ROOT)}:{line} {call}"
                 for path in python_files() for line, call in host_time_reads(path.read_text("utf-8"))]
    assert offenders == [], "take time from backend.clock.Clock (the injected clock):\n" + "\n".join(offenders)


def test_the_detector_finds_each_way_of_reading_the_host_clock():
    sample = "\n".join([
        "import datetime, time",
        "from datetime import date",
        "a = date.today()",
        "b = datetime.datetime.now()",
        "c = datetime.now(tz)",
        "d = time.time()",
        "e = datetime.datetime.utcnow()",
        "f = time.time()  # wall-clock: the library compares with time.time()",
        "g = clock.now()",
        "h = time.monotonic()",
        "i = datetime.fromtimestamp(ts)",
        "j = datetime.fromtimestamp(ts, SHANGHAI)",
    ])
    assert [line for line, _ in host_time_reads(sample)] == [3, 4, 5, 6, 7, 11]
    assert len(python_files()) > 50  # the walk really covers the code
