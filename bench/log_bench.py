"""Transparency log: (a) the cost of a leaf on an append, (b) proof time at 10,000 vs 1,000,000 leaves,
(c) `audit verify` over 1,000,000 leaves.

    python bench/log_bench.py [--appends 2000] [--big 1000000] [--postgres] [--parts abc]

(a) times N transactions that each insert one audit_event row (the baseline), against N that insert
the same row and append its leaf, interleaved in rounds; prints the ratio. (b) fills two logs (10k and
1M leaves) straight with SQL — leaves, envelopes and stored subtree hashes computed as the log does —
then times inclusion and consistency proofs and roots at random sizes in each. (c) runs the whole-log
audit over the 1M log, in process and as `yangguang audit verify`. SQLite in a temporary folder by
default; --postgres starts a throwaway PostgreSQL server (Debian's binaries) instead, which runs with
fsync and synchronous_commit off unless --durable is given. ``--parts c`` runs only the audit (its log
is filled all the same). Audit times are wall clock and, in brackets, this process's CPU time (with
SQLite that includes the database's thread; with PostgreSQL not the server's): on a shared machine the
CPU time says more than the wall clock about the code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from backend.clock import Clock  # noqa: E402
from backend.db import migrate, orm  # noqa: E402
from backend.models import AuditEvent, CaseRecord  # noqa: E402
from backend.models.enums import RecordStep, SignatureState  # noqa: E402
from backend.services.leaf_sources import registry, unlogged_rows  # noqa: E402
from backend.services.records import entries  # noqa: E402
from backend.services.transparency import checkpoints, log, tree  # noqa: E402
from backend.services.transparency.verify import audit  # noqa: E402
from backend.settings import Settings  # noqa: E402

clock = time.perf_counter
cpu = time.process_time


async def bench_appends(n: int, rounds: int = 4) -> tuple[float, float]:
    """Median seconds per transaction: (row alone, row + leaf)."""
    plain: list[float] = []
    logged: list[float] = []
    for r in range(rounds):
        for mode in (("plain", "logged") if r % 2 == 0 else ("logged", "plain")):
            start = clock()
            for i in range(n // rounds):
                async with in_transaction():
                    row = await AuditEvent.create(actor="bench", action="bench.append", target_type="bench",
                                                  target_id=str(i), data={"i": i, "round": r})
                    if mode == "logged":
                        await log.append("case_record", {"i": i, "round": r}, agency_id=None, ref=str(row.id))
            (plain if mode == "plain" else logged).append((clock() - start) / (n // rounds))
    return statistics.median(plain), statistics.median(logged)


def rows_for(start: int, count: int, peaks: tree.Peaks) -> list[list[object]]:
    """Leaves exactly as log.append writes them (canonical envelope, leaf hash, completed nodes)."""
    out: list[list[object]] = []
    for i in range(start, start + count):
        content = f'{{"agency_id":null,"data":{{"n":{i}}},"index":{i},"kind":"evidence","ref":"{i}"}}'
        digest = tree.leaf_hash(content.encode())
        nodes = "".join(h.hex() for h in peaks.push(digest))
        out.append([i, "evidence", str(i), None, content, digest.hex(), nodes])
    return out


async def a_case() -> tuple[uuid.UUID, uuid.UUID, int]:
    """An agency and a case made through the services (its 立案 record is a leaf): (agency, case, size)."""
    from backend.services.agencies import create_agency, with_check_digit
    from backend.services.cases import create_case

    agency, _, _ = await create_agency("基准测试局", with_check_digit("11330106MB0000077"), actor="bench")
    case, _ = await create_case(agency.id, {"title": "基准案件", "type": "penalty",
                                            "parties": [{"kind": "organization", "name": "某公司"}]}, "bench", Clock())
    return agency.id, case.id, await log.tree_size()


def record_rows_for(start: int, count: int, peaks: tree.Peaks, agency_id: uuid.UUID, case_id: uuid.UUID,
                    first: int) -> tuple[list[list[object]], list[CaseRecord]]:
    """Interview records of one case and their leaves, each leaf built from its row by the function
    ``entries.add_step`` uses, so the domain checks of ``audit verify`` rebuild and compare them all."""
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    leaves: list[list[object]] = []
    records: list[CaseRecord] = []
    for i in range(start, start + count):
        seq = i - first + 2  # seq 1 is the case's 立案 record, written by the service
        row = CaseRecord(case_id=case_id, seq=seq, step=RecordStep.INTERVIEW, occurred_at=at, place="某路1号",
                         officers=[{"officer_id": "o1", "name": "张执法", "credential_valid": True}],
                         text=f"询问笔录第{i}份", signature=SignatureState.SIGNED, signature_note="",
                         service_method=None, evidence_ids=[], corrects_id=None, actor="bench", actor_name="bench",
                         actor_role="officer", leaf_index=i)
        content = log.canonical(log.envelope(i, "case_record", f"{case_id}:{seq}", agency_id,
                                             entries.leaf_content(row, agency_id)))
        digest = tree.leaf_hash(content)
        nodes = "".join(h.hex() for h in peaks.push(digest))
        leaves.append([i, "case_record", f"{case_id}:{seq}", str(agency_id), content.decode(), digest.hex(), nodes])
        records.append(row)
    return leaves, records


async def fill(size: int, domain: bool = False) -> None:
    """``size`` leaves straight with SQL; with ``domain``, interview records of one case, each with its row."""
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    peaks = tree.Peaks()
    first = 0
    if domain:
        agency_id, case_id, first = await a_case()
        _, rows = await conn.execute_query("SELECT leaf_hash FROM log_leaf ORDER BY leaf_index")
        for (digest,) in rows:
            peaks.push(bytes.fromhex(digest))
    at = "now()" if pg else "'2026-11-20 09:30:00+00:00'"
    marks = "$1, $2, $3, $4, $5, $6, $7" if pg else "?, ?, ?, ?, ?, ?, ?"
    sql = (f"INSERT INTO log_leaf (leaf_index, kind, ref, agency_id, content, leaf_hash, nodes, created_at) "
           f"VALUES ({marks}, {at})")
    step = 50_000
    for start in range(first, size, step):
        count = min(step, size - start)
        async with in_transaction() as tx:
            if domain:
                leaves, records = record_rows_for(start, count, peaks, agency_id, case_id, first)
                await tx.execute_many(sql, leaves)
                await CaseRecord.bulk_create(records, batch_size=5_000, using_db=tx)
            else:
                await tx.execute_many(sql, rows_for(start, count, peaks))


async def time_proofs(size: int, samples: int = 300) -> dict[str, float]:
    rnd = random.Random(size)
    out: dict[str, list[float]] = {"inclusion": [], "consistency": [], "root": []}
    for _ in range(samples):
        n = rnd.randint(size // 2, size)
        i, m = rnd.randrange(n), rnd.randint(1, n)
        t0 = clock()
        await log.inclusion_proof(i, n)
        t1 = clock()
        await log.consistency_proof(m, n)
        t2 = clock()
        await log.root_at(n)
        t3 = clock()
        out["inclusion"].append(t1 - t0)
        out["consistency"].append(t2 - t1)
        out["root"].append(t3 - t2)
    return {k: statistics.median(v) * 1000 for k, v in out.items()}


async def time_http(settings: Settings, size: int, samples: int = 300) -> dict[str, float]:
    """The same proofs as a client sees them: GET over HTTP with an agency key (auth, routing, JSON)."""
    from aiohttp.test_utils import TestClient, TestServer

    from backend.app import create_app
    from backend.services.agencies import create_agency, with_check_digit

    rnd = random.Random(size)
    out: dict[str, list[float]] = {"http inclusion": [], "http consistency": []}
    async with TestClient(TestServer(create_app(settings))) as client:
        _, _, key = await create_agency("基准测试局", with_check_digit(f"1133010{uuid.uuid4().int % 10**10:010d}"),
                                        actor="bench")
        auth = {"Authorization": f"Bearer {key}"}
        for k in range(samples + 30):
            n = rnd.randint(size // 2, size)
            i, m = rnd.randrange(n), rnd.randint(1, n)
            t0 = clock()
            resp = await client.get("/api/v1/log/proof/inclusion", params={"leaf_index": i, "tree_size": n},
                                    headers=auth)
            await resp.read()
            t1 = clock()
            resp = await client.get("/api/v1/log/proof/consistency", params={"first": m, "second": n}, headers=auth)
            await resp.read()
            t2 = clock()
            assert resp.status == 200
            if k >= 30:
                out["http inclusion"].append(t1 - t0)
                out["http consistency"].append(t2 - t1)
    return {k: statistics.median(v) * 1000 for k, v in out.items()}


async def run(args: argparse.Namespace, url_for: dict[str, str], data_dir: Path) -> None:
    for url in url_for.values():
        await migrate(url)
    if "a" in args.parts:
        settings = Settings(data_dir=data_dir, database_url=url_for["appends"])
        async with orm(settings):
            await bench_appends(200, rounds=2)  # warm up
            plain, logged = await bench_appends(args.appends)
        print(f"(a) append, one transaction each ({args.appends} per mode, interleaved rounds): "
              f"row alone {plain * 1000:.3f} ms, row + leaf {logged * 1000:.3f} ms, ratio {logged / plain:.2f}")

    sizes = {"small": 10_000, "big": args.big} if "b" in args.parts else {"big": args.big}
    for name, size in sizes.items():
        async with orm(Settings(data_dir=data_dir, database_url=url_for[name])):
            t0 = clock()
            await fill(size, domain=name == "big")  # the audit (c) rebuilds the big log's leaves from rows
            print(f"    filled {size:,} leaves in {clock() - t0:.1f} s")
    if "b" in args.parts:
        await bench_proofs(args, url_for, data_dir, sizes)
    if "c" in args.parts:
        await bench_audit(url_for, data_dir)


async def bench_proofs(args: argparse.Namespace, url_for: dict[str, str], data_dir: Path,
                       sizes: dict[str, int]) -> None:
    runs: dict[str, list[dict[str, float]]] = {"small": [], "big": []}
    for _ in range(3):  # interleaved, so load from elsewhere on the machine hits both alike
        for name, size in sizes.items():
            s = Settings(data_dir=data_dir, database_url=url_for[name])
            async with orm(s):
                await time_proofs(size, 30)  # warm the page cache
                figures_now = await time_proofs(size)
            figures_now.update(await time_http(s, size))
            runs[name].append(figures_now)
    figures = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    for name, size in sizes.items():
        print(f"(b) {size:>9,} leaves: " + ", ".join(f"{k} {v:.3f} ms" for k, v in figures[name].items())
              + " (median of 3 × 300, random sizes in the upper half, random indexes)")
    for k in figures["small"]:
        print(f"    {k}: {args.big:,} / 10,000 = {figures['big'][k] / figures['small'][k]:.2f}")


async def bench_audit(url_for: dict[str, str], data_dir: Path) -> None:
    load_before = f"{os.getloadavg()[0]:.1f}"

    s = Settings(data_dir=data_dir, database_url=url_for["big"])
    async with orm(s):
        await checkpoints.make_checkpoint(s, Clock())
        keys = checkpoints.LogKeys(data_dir).verifiers()
        t0, c0 = clock(), cpu()
        report = await audit(keys)
        took, took_cpu = clock() - t0, cpu() - c0
        assert report.ok, [p.line() for p in report.problems[:5]]
        t0, c0 = clock(), cpu()
        report = await audit(keys, sources=registry(data_dir))  # each leaf rebuilt from its row, as the CLI does
        report.problems.extend(await unlogged_rows())
        took_domain, took_domain_cpu = clock() - t0, cpu() - c0
    assert report.ok, [p.line() for p in report.problems[:5]]
    print(f"(c) audit over {report.size:,} leaves in process: log only {took:.1f} s (CPU {took_cpu:.1f} s); "
          f"with every leaf rebuilt from its row {took_domain:.1f} s (CPU {took_domain_cpu:.1f} s), "
          f"ratio {took_domain / took:.2f}; load average before: {load_before}, after: {os.getloadavg()[0]:.1f}")
    env = {**os.environ, "YANGGUANG_DATABASE_URL": url_for["big"], "YANGGUANG_DATA_DIR": str(data_dir),
           "YANGGUANG_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    t0, c0 = clock(), _children_cpu()
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "backend.cli", "audit", "verify"],
                                     env=env, capture_output=True, text=True, check=False)
    print(f"    yangguang audit verify: {clock() - t0:.1f} s (CPU {_children_cpu() - c0:.1f} s), "
          f"exit {result.returncode}: {result.stdout.strip()}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--parts", default="abc", help="which parts to run: a, b, c (default all)")
    parser.add_argument("--durable", action="store_true",
                        help="PostgreSQL with fsync and synchronous_commit on (the test server has them off)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yg-log-bench-"))
    server = None
    try:
        if args.postgres:
            from tests.support.servers import start_postgres

            server = start_postgres()
            if args.durable:
                for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
                    server.psql(f"ALTER SYSTEM SET {setting}")
                server.psql("SELECT pg_reload_conf()")
            url_for = {}
            for name in ("appends", "small", "big"):
                server.psql(f"CREATE DATABASE b_{name}")
                url_for[name] = server.url(f"b_{name}")
        else:
            url_for = {name: f"sqlite://{tmp}/{name}.sqlite3" for name in ("appends", "small", "big")}
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}{' (durable commits)' if args.durable else ''}; "
              f"{os.cpu_count()} cores; "
              f"run {uuid.uuid4().hex[:6]}")
        asyncio.run(run(args, url_for, tmp / "data"))
    finally:
        if server is not None:
            server.stop("immediate")
            shutil.rmtree(server.datadir.parent, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
