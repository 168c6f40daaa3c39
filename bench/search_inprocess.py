"""The public search's own cost, without HTTP: ``search.search`` called one query after another in
one process, per query shape, for this checkout and another (``--compare DIR``, a ``git archive`` of
another commit) on the same seeded SQLite database, alternately; prints the mean and p95 per call and
the ratio. On a shared machine this moves far less than wrk's p95 under 16 connections does.

    python bench/search_inprocess.py --compare /tmp/before [--rows 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(database: Path, repeats: int) -> dict[str, list[float]]:
    """Run in a subprocess whose path starts with the checkout measured."""
    from backend.db import orm
    from backend.services import search
    from backend.services.search import Filters
    from backend.settings import Settings

    async def run() -> dict[str, list[float]]:
        settings = Settings.from_env({"YANGGUANG_DATABASE_URL": f"sqlite://{database}",
                                      "YANGGUANG_DATA_DIR": str(database.parent)})
        async with orm(settings):
            from tortoise import connections
            conn = connections.get("default")
            rows = await conn.execute_query_dict(
                "SELECT org_names, agency_id FROM decision_search ORDER BY id LIMIT 50")
            first = [(r["org_names"].split(" ")[0], uuid.UUID(str(r["agency_id"]))) for r in rows]
            shapes = {
                "latest (no filter)": [Filters()],
                "party, 2 chars": [Filters(party=name[2:4]) for name, _ in first[:20]],
                "party, common word": [Filters(party=t) for t in ("科技", "餐饮", "贸易", "物流", "传媒")],
                "party, one name": [Filters(party=name[2:]) for name, _ in first],
                "party, no match": [Filters(party=f"不存在{i}公司") for i in range(20)],
                "agency + party": [Filters(party=name[2:6], agency_id=agency) for name, agency in first],
            }
            out: dict[str, list[float]] = {}
            for shape, queries in shapes.items():
                for q in queries[:3]:
                    await search.search(q)  # warm: caches, statistics
                times = []
                for _ in range(repeats):
                    for q in queries:
                        started = time.perf_counter()
                        await search.search(q)
                        times.append(time.perf_counter() - started)
                out[shape] = times
            return out

    return asyncio.run(run())


def side(code: Path, database: Path, repeats: int) -> dict[str, list[float]]:
    # This file's ``measure``, with the measured checkout's ``backend`` first on the path.
    script = (f"import sys, json, runpy; sys.path.insert(0, {str(code)!r}); from pathlib import Path; "
              f"measure = runpy.run_path({__file__!r})['measure']; "
              f"print(json.dumps(measure(Path({str(database)!r}), {repeats})))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", type=Path, required=True, help="a checkout of another commit")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the two sides")
    ap.add_argument("--repeats", type=int, default=3, help="passes over each shape's queries per round")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from backend.db import migrate
    from bench.search_bench import seed_sqlite

    work = Path(tempfile.mkdtemp(prefix="yg-search-inprocess-"))
    try:
        database = work / "bench.sqlite3"
        asyncio.run(migrate(f"sqlite://{database}"))
        seed_sqlite(database, args.rows)
        sides: dict[str, dict[str, list[float]]] = {"this": {}, "compare": {}}
        for _ in range(args.rounds):
            for name, code in (("this", ROOT), ("compare", args.compare.resolve())):
                for shape, times in side(code, database, args.repeats).items():
                    sides[name].setdefault(shape, []).extend(times)
        print(f"search.search in process, SQLite {args.rows:,} decisions; ms per call: mean / p95")
        print(f"  {'shape':22} {'this':>15} {'compare':>15} {'compare/this':>13}")
        for shape, times in sides["this"].items():
            other = sides["compare"][shape]
            mine = (statistics.mean(times) * 1000, sorted(times)[int(len(times) * 0.95)] * 1000)
            theirs = (statistics.mean(other) * 1000, sorted(other)[int(len(other) * 0.95)] * 1000)
            print(f"  {shape:22} {mine[0]:6.2f} / {mine[1]:6.2f} {theirs[0]:6.2f} / {theirs[1]:6.2f}"
                  f" {theirs[0] / mine[0]:13.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
