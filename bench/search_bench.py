"""Public search latency: wrk (16 connections) against GET /mp/v1/decisions on `yangguang serve`, for
each query shape, with the name index and with a plain LIKE scan (YANGGUANG_SEARCH_BASELINE=like) in
the same run; prints p95 of each and the ratio. Target: p95 < 50 ms with the index.

    python bench/search_bench.py --postgres [--rows 1000000]   # a throwaway PostgreSQL server
    python bench/search_bench.py [--rows 100000]               # SQLite in a temporary data folder

Seeding is bulk (COPY on PostgreSQL, executemany on SQLite), never the ORM per row: agencies, cases,
decisions and their search rows, as services/search.sync would have written them, then their gram rows
(on PostgreSQL by migration 0020's backfill statement, timed), then VACUUM ANALYZE, so that no
autovacuum of the fresh rows runs during the measurements.

    python bench/search_bench.py --postgres --compare /tmp/before   # + a third side: another checkout

``--compare DIR`` serves a checkout of another commit (``git archive <commit> | tar -x -C DIR``)
against the same database as a third side, measured interleaved with the others: before and after in
the same conditions. Its code must read the schema this one migrated to.

Before each measurement the bench waits until the database runs no query (PostgreSQL) and no server
process burns CPU: the LIKE side's requests that wrk gave up on keep running and would otherwise be
measured with the next side.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise import connections

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.db import migrate, orm  # noqa: E402
from backend.services.search import grams, normalize  # noqa: E402
from bench.verify_bench import wait_up  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

CITIES = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "上海", "南京",
          "苏州"]
TRADES = ["科技", "餐饮", "贸易", "建筑", "物流", "医药", "食品", "传媒", "电子", "服装", "机械", "化工", "教育",
          "旅游"]
SUFFIX = ["有限公司", "股份有限公司", "有限责任公司", "经营部", "商行"]
CHARS = "星辰明月山海云龙凤华盛兴隆泰安康宏远鑫源恒达永信和润丰德嘉瑞祥福金银光辉晨阳春秋冬夏东西南北中天地人"
TYPES = ["penalty", "permit", "coercion", "inspection", "collection", "other"]
AGENCIES = 40


def org_name(rng: random.Random) -> str:
    return rng.choice(CITIES) + rng.choice(CHARS) + rng.choice(CHARS) + rng.choice(TRADES) + rng.choice(SUFFIX)


def rows(n: int, agencies: list[uuid.UUID]) -> list[tuple]:  # type: ignore[type-arg]
    """(case, decision, search) values per decision: deterministic, so both runs see the same data."""
    rng = random.Random(11)
    start = date(2021, 1, 1)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        agency = agencies[i % len(agencies)]
        decided = start + timedelta(days=rng.randrange(0, 2150))
        kind = TYPES[rng.randrange(len(TYPES))]
        name = org_name(rng)
        norm = normalize(name)
        out.append((uuid.UUID(int=rng.getrandbits(128), version=4), uuid.UUID(int=rng.getrandbits(128), version=4),
                    agency, kind, decided, f"浙{i % 97:02d}罚〔{decided.year}〕{i}号", name, norm,
                    " ".join(sorted(set(grams(norm)))), now, f"当事人{name}违法经营，依法作出处理决定。"))
    return out


SEARCH_COLS = ["decision_id", "agency_id", "type", "document_no", "decided_at", "status", "version", "published_at",
               "party", "public_text", "org_names", "party_grams"]


async def templates(url: str) -> tuple[list[uuid.UUID], dict[str, Any], dict[str, Any]]:
    """Agencies through the service, and one case and one decision through the ORM: every other row
    is a copy of those two with its own values, so each column has what the ORM would write."""
    from backend.models import Case, Decision
    from backend.services.agencies import create_agency, with_check_digit
    from backend.settings import Settings

    settings = Settings.from_env({"YANGGUANG_DATABASE_URL": url, "YANGGUANG_DATA_DIR": tempfile.mkdtemp()})
    async with orm(settings):
        agencies = [(await create_agency(f"基准市场监督管理局{i:02d}", with_check_digit(f"11330100MB{i:07d}"),
                                         actor="bench"))[0].id for i in range(AGENCIES)]
        case = await Case.create(agency_id=agencies[0], number="T0", title="基准案件", type="penalty")
        decision = await Decision.create(case=case, agency_id=agencies[0], type="penalty", document_no="T0",
                                         summary="", decided_at=date(2026, 1, 1), status="published")
        conn = connections.get("default")
        c = (await conn.execute_query_dict('SELECT * FROM "case" WHERE number = \'T0\''))[0]
        d = (await conn.execute_query_dict("SELECT * FROM decision WHERE document_no = 'T0'"))[0]
        await Decision.filter(id=decision.id).delete()
        await Case.filter(id=case.id).delete()
    return agencies, dict(c), dict(d)


def split(r: tuple, case_t: dict[str, Any], decision_t: dict[str, Any]) -> tuple[dict, dict, tuple]:  # type: ignore[type-arg]
    case_id, decision_id, agency, kind, decided, doc, name, norm, g, now, text = r
    case = {**case_t, "id": case_id, "agency_id": agency, "number": f"B{case_id.hex[:12]}", "type": kind,
            "status": "executing"}
    decision = {**decision_t, "id": decision_id, "case_id": case_id, "agency_id": agency, "type": kind,
                "document_no": doc, "summary": text, "decided_at": decided, "published_at": now,
                "public_party_name": name, "current_version": 1}
    search = (decision_id, agency, kind, doc, decided, "published", 1, now, name, text, norm, g)
    return case, decision, search


async def seed_pg(url: str, n: int) -> list[uuid.UUID]:
    import asyncpg

    agencies, case_t, decision_t = await templates(url)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        data = rows(n, agencies)
        for chunk in range(0, n, 100_000):
            parts = [split(r, case_t, decision_t) for r in data[chunk:chunk + 100_000]]
            for table, idx in (("case", 0), ("decision", 1)):
                cols = list(parts[0][idx])
                await conn.copy_records_to_table(table, records=[tuple(p[idx].values()) for p in parts],
                                                 columns=cols)
            await conn.copy_records_to_table("decision_search", records=[p[2] for p in parts], columns=SEARCH_COLS)
        started = time.monotonic()
        await conn.execute(importlib.import_module("migrations.0020_search_gram_rows").PG_BACKFILL)
        print(f"gram rows: {await conn.fetchval('SELECT count(*) FROM decision_search_gram'):,} "
              f"by migration 0020's backfill in {time.monotonic() - started:.0f}s", flush=True)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return agencies


def seed_sqlite(path: Path, n: int) -> list[uuid.UUID]:
    agencies, case_t, decision_t = asyncio.run(templates(f"sqlite://{path}"))
    conn = sqlite3.connect(path)

    def lite(values: Any) -> tuple:  # type: ignore[type-arg]
        return tuple(str(v) if isinstance(v, uuid.UUID | date) else v for v in values)

    with conn:
        parts = [split(r, case_t, decision_t) for r in rows(n, agencies)]
        for table, idx in (("case", 0), ("decision", 1)):
            cols = list(parts[0][idx])
            conn.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})',
                             [lite(p[idx].values()) for p in parts])
        conn.executemany(f"INSERT INTO decision_search ({', '.join(SEARCH_COLS)}) "
                         f"VALUES ({', '.join('?' * len(SEARCH_COLS))})", [lite(p[2]) for p in parts])
        conn.executemany("INSERT INTO decision_search_gram (gram, decided_at, decision_id) VALUES (?, ?, ?)",
                         [lite((g, p[2][4], p[2][0])) for p in parts for g in p[2][11].split()])
    conn.execute("ANALYZE")
    conn.close()
    return agencies


def shapes(agencies: list[uuid.UUID], n: int) -> dict[str, list[str]]:
    rng = random.Random(5)
    sample = rows(min(n, 2000), agencies)
    names = [r[6] for r in sample]
    return {
        "latest (no filter)": [""],
        "agency": [f"agency={a}" for a in agencies[:10]],
        "type + date range": [f"type={t}&from=2024-01-01&to=2024-06-30" for t in TYPES],
        "party, 2 chars": [f"party={urllib.parse.quote(rng.choice(CHARS) + rng.choice(CHARS))}" for _ in range(20)],
        "party, common word": [f"party={urllib.parse.quote(t)}" for t in TRADES],
        "party, one name": [f"party={urllib.parse.quote(name[2:])}" for name in names[:50]],
        "party, no match": [f"party={urllib.parse.quote('不存在' + str(i) + '公司')}" for i in range(20)],
        "document_no": [f"document_no={urllib.parse.quote(r[5])}" for r in sample[:50]],
        "agency + party": [f"agency={r[2]}&party={urllib.parse.quote(r[6][2:6])}" for r in sample[:50]],
    }


LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format('GET', paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("P95 %%d\\nERRORS %%d\\n", latency:percentile(95.0),
                         summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def wrk_p95(base: str, queries: list[str], work: Path, duration: int, connections: int) -> tuple[float, float]:
    script = work / "shape.lua"
    script.write_text(LUA % ", ".join(f'"/mp/v1/decisions?{q}"' for q in queries))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script),
                          base],
                         capture_output=True, text=True, check=True).stdout
    p95 = int(re.search(r"P95 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]  # µs -> ms
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = int(re.search(r"ERRORS (\d+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise SystemExit(f"{base}: failed responses\n{out}")
    if errors or rps == 0:  # requests over wrk's 10 s timeout (or none done): the LIKE scan at a million rows
        return float("inf"), rps
    return p95, rps


def wait_idle(server: Any, dbname: str, limit: float = 600.0) -> float:
    """Wait until PostgreSQL runs no query on the bench database (for 1 s): the LIKE side's queries
    that wrk gave up on keep running in PostgreSQL and would be measured with the next shape."""
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < limit:
        busy = int(server.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND state = 'active' AND pid <> pg_backend_pid()", dbname))
        now = time.monotonic()
        if busy:
            quiet_since = now
        elif now - quiet_since >= 1.0:
            return now - started
        time.sleep(0.1)
    raise SystemExit(f"PostgreSQL still busy after {limit:.0f} s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """A process and its children (``serve --workers N`` forks N)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(c) for c in children)]


def busy_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for proc in procs:
        for pid in family(proc.pid):
            try:
                total += cpu_seconds(pid)
            except OSError:  # a child that ended between the listing and the read
                pass
    return total


def wait_servers_idle(procs: list[subprocess.Popen[bytes]], limit: float = 600.0) -> float:
    """Wait until no side's server burns CPU (under 5 % of a core over 1 s): on SQLite the LIKE side's
    queries that wrk gave up on queue in its database thread and run on for minutes, measured with the
    next shape's other sides (PostgreSQL runs them in its own backends: wait_idle)."""
    started = time.monotonic()
    before = busy_seconds(procs)
    while time.monotonic() - started < limit:
        time.sleep(1.0)
        now = busy_seconds(procs)
        if now - before < 0.05:
            return time.monotonic() - started
        before = now
    raise SystemExit(f"a server still busy after {limit:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--rows", type=int, default=0, help="default: 1,000,000 on PostgreSQL, 100,000 on SQLite")
    ap.add_argument("--duration", type=int, default=8, help="seconds of wrk per shape and side")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=0,
                    help="serve --workers N; default: one per core on PostgreSQL (as deploy/ runs it), 1 on SQLite")
    ap.add_argument("--compare-workers", type=int, default=0,
                    help="the compare side's process count (without --compare: this checkout, with N processes)")
    ap.add_argument("--compare", type=Path, help="a checkout of another commit, served as a third side")
    ap.add_argument("--no-like", action="store_true",
                    help="leave out the LIKE side (at 1,000,000 rows its timed-out queries cost minutes of waiting)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    n = args.rows or (1_000_000 if args.postgres else 100_000)
    workers = args.workers or ((os.cpu_count() or 1) if args.postgres else 1)  # SQLite: one writer process
    work = Path(tempfile.mkdtemp(prefix="yg-search-bench-"))
    server = None
    env = {**os.environ, "YANGGUANG_DATA_DIR": str(work / "data"), "YANGGUANG_LOG_LEVEL": "WARNING",
           "YANGGUANG_SCAN_RATE_PER_MINUTE": "1000000000", "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        started = time.monotonic()
        if args.postgres:
            from tests.support.servers import start_postgres

            server = start_postgres()
            server.psql("CREATE DATABASE bench")
            url = server.url("bench")
            asyncio.run(migrate(url))
            agencies = asyncio.run(seed_pg(url, n))
        else:
            (work / "data").mkdir(mode=0o700)
            path = work / "data" / "bench.sqlite3"
            url = f"sqlite://{path}"
            asyncio.run(migrate(url))
            agencies = seed_sqlite(path, n)
        env["YANGGUANG_DATABASE_URL"] = url
        print(f"seeded {n:,} published decisions on {'PostgreSQL' if args.postgres else 'SQLite'} "
              f"in {time.monotonic() - started:.0f}s")
        ports = {"index": free_port()} if args.no_like else {"index": free_port(), "like": free_port()}
        if args.compare or args.compare_workers:
            ports["compare"] = free_port()
        for side, port in ports.items():
            side_env = {**env, "YANGGUANG_SEARCH_BASELINE": "like"} if side == "like" else env
            code = args.compare.resolve() if side == "compare" and args.compare else ROOT
            count = args.compare_workers or workers if side == "compare" else workers
            procs.append(subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port),
                                           "--workers", str(count)],
                                          env={**side_env, "PYTHONPATH": str(code)}, cwd=code,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for (_side, port), proc in zip(ports.items(), procs, strict=True):
            wait_up(f"http://127.0.0.1:{port}/healthz", proc)
        print(f"wrk -t2 -c{args.connections}, {args.duration}s per shape and side, sides interleaved, "
              f"serve --workers {workers}"
              f"{f' (compare side: {args.compare_workers})' if args.compare_workers else ''}; p95 in ms")
        compared = f" {'compare p95':>11} {'req/s':>8}" if "compare" in ports else ""
        print(f"  {'shape':24} {'index p95':>10} {'req/s':>8} {'LIKE p95':>10} {'req/s':>8} {'LIKE/index':>10}"
              + compared)
        worst = 0.0
        for shape, queries in shapes(agencies, n).items():
            results = {}
            for side, port in ports.items():
                if server is not None:
                    waited = wait_idle(server, "bench")
                    if waited > 2:
                        print(f"    (waited {waited:.0f} s for PostgreSQL's queries to end before {side})")
                waited = wait_servers_idle(procs)
                if waited > 2:
                    print(f"    (waited {waited:.0f} s for the servers to finish abandoned requests before {side})")
                wrk_p95(f"http://127.0.0.1:{port}", queries, work, 1, args.connections)  # warm
                results[side] = wrk_p95(f"http://127.0.0.1:{port}", queries, work, args.duration, args.connections)
            (ip95, irps), (lp95, lrps) = results["index"], results.get("like", (float("nan"), 0.0))
            worst = max(worst, ip95)
            like = f"{lp95:10.1f}" if lp95 != float("inf") else f"{'timed out':>10}"
            other = f" {results['compare'][0]:11.1f} {results['compare'][1]:8.0f}" if "compare" in ports else ""
            print(f"  {shape:24} {ip95:10.1f} {irps:8.0f} {like} {lrps:8.0f} {lp95 / ip95:10.1f}{other}", flush=True)
        print(f"worst index p95: {worst:.1f} ms (target < 50 ms)")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
