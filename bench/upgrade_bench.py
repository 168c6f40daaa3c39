# ruff: noqa: E501  (the seed SQL keeps each Chinese sample text on one line)
"""Upgrades on a production-sized database: migrations timed one by one, and no migration rewrites a leaf.

    python bench/upgrade_bench.py [--cases 100000] [--from 0005_transparency_log] [--database-url postgres://…]

Starts a throwaway PostgreSQL (Debian's binaries; or takes ``--database-url`` of an EMPTY database),
migrates it to ``--from`` (0005 is the first schema with the transparency log, so the first one a leaf
can be rewritten on), seeds it with bulk SQL (``generate_series`` and ``COPY``, never the ORM per row):
agencies, officers with credentials, ``--cases`` cases each with two parties (some of them bound to a
WeChat user, so the data step of 0010 has rows to move), two case officers, three record entries and a
published decision with its version, and one transparency-log leaf for each record entry and each
decision event (a well-formed RFC 9162 tree: leaf hashes and the stored subtree nodes as ``yg_log_append``
writes them). Then it migrates forward to the head, timing each migration, and compares every leaf
row before and after: the content digest (every column, in index order) must be identical — the
bench exits 1 otherwise. It also reports whether the rows were physically left alone (``xmin``,
``ctid``: a table rewrite or an UPDATE that writes the same values changes them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.db import migrate  # noqa: E402
from backend.services.transparency.log import canonical, envelope  # noqa: E402
from backend.services.transparency.tree import leaf_hash, node_hash  # noqa: E402
from tests.support.leaves import LEAF_COLUMNS, PHYSICAL_DIGEST_SQL, ROW_DIGEST_SQL  # noqa: E402

AGENCIES = 20
OFFICERS_PER_AGENCY = 50
RECORD_STEPS = ("start", "investigation", "notice_of_rights")
LEAVES_PER_CASE = len(RECORD_STEPS) + 1  # the record entries, then the decision's publish event
T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # seeded history starts here (a fixed date: no host clock)


def did(kind: str, i: int) -> uuid.UUID:
    """The id of seeded row ``i`` of ``kind``: the same formula as the SQL's ``md5(kind || i)::uuid``."""
    return uuid.UUID(hashlib.md5(f"{kind}{i}".encode()).hexdigest())


def agency_of(case: int) -> int:
    return case % AGENCIES


def record_text(case: int, seq: int) -> str:
    return f"第{seq}步：对案件{case:06d}依法开展{RECORD_STEPS[seq - 1]}，现场检查经营场所，制作笔录并由当事人签字确认。"


def decision_text(case: int) -> str:
    return (f"杭市监处罚〔2025〕{case:06d}号：当事人某某公司销售不符合食品安全标准的食品，违反《中华人民共和国食品"
            f"安全法》第三十四条，依据第一百二十四条，决定没收违法所得并处罚款人民币{(case % 90 + 10) * 1000}元。")


def leaves(n_cases: int) -> list[tuple[Any, ...]]:
    """Every leaf row, in index order, with the nodes each completes (the stack of peaks of RFC 9162)."""
    rows: list[tuple[Any, ...]] = []
    peaks: list[bytes] = []
    size = 0
    for case in range(n_cases):
        agency = did("agency", agency_of(case))
        case_id = did("case", case)
        contents: list[tuple[str, str, dict[str, Any]]] = []
        for seq, step in enumerate(RECORD_STEPS, start=1):
            contents.append(("case_record", f"{case_id}:{seq}", {
                "type": "case_record", "agency_id": str(agency), "case_id": str(case_id), "seq": seq, "step": step,
                "occurred_at": (T0 + timedelta(minutes=case)).isoformat(timespec="microseconds"),
                "place": "杭州市西湖区文三路", "officers": [], "text": record_text(case, seq),
                "signature": "not_required", "signature_note": "", "service_method": None, "evidence_ids": [],
                "corrects": None, "actor": "bench", "actor_name": "基准测试", "actor_role": "officer"}))
        version = did("decision_version", case)
        contents.append(("decision_event", str(version), {
            "type": "decision_event", "id": str(version), "agency_id": str(agency), "case_id": str(case_id),
            "decision_id": str(did("decision", case)), "document_no": f"杭市监处罚〔2025〕{case:06d}号",
            "version": 1, "kind": "publish", "public_text": decision_text(case), "reason": "", "actor": "bench",
            "actor_name": "基准测试", "actor_role": "officer"}))
        for kind, ref, data in contents:
            body = canonical(envelope(size, kind, ref, agency, data))
            acc = leaf_hash(body)
            completed, level = [], 0
            while (size >> level) & 1:
                acc = node_hash(peaks.pop(), acc)
                completed.append(acc.hex())
                level += 1
            peaks.append(acc)
            rows.append((size, kind, ref, agency, body.decode(), leaf_hash(body).hex(), "".join(completed),
                         T0 + timedelta(minutes=case)))
            size += 1
    return rows


SEED_SQL = """
INSERT INTO agency (id, name, credit_code, kind, region, legal_basis, funding_source, staffing, duties,
                    legal_representative, address, complaint_phone, entrustment_agreement, publish_state,
                    created_at, updated_at)
SELECT md5('agency' || a)::uuid, '基准市场监督管理局' || a, 'BENCH' || lpad(a::text, 13, '0'), 'agency',
       '杭州市', '《中华人民共和国行政处罚法》', '财政全额拨款', 120, '市场监管执法', '某某', '杭州市西湖区',
       '0571-12345', '', 'published', $1::timestamptz, $1::timestamptz
  FROM generate_series(0, {agencies} - 1) a;

INSERT INTO officer (id, name, kind, certificate_no, categories, region, unit, is_legal_reviewer, status,
                     created_at, updated_at, agency_id)
SELECT md5('officer' || o)::uuid, '执法' || lpad(o::text, 5, '0'), 'enforcement', 'B' || lpad(o::text, 12, '0'),
       '["市场监管"]'::jsonb, '杭州市西湖区', '执法一队', false, 'active', $1::timestamptz, $1::timestamptz,
       md5('agency' || (o % {agencies}))::uuid
  FROM generate_series(0, {officers} - 1) o;

INSERT INTO credential (id, token_hash, token_seed, status, valid_from, valid_until, status_reason, issued_at,
                        updated_at, officer_id)
SELECT md5('credential' || o)::uuid, encode(sha256(('token' || o)::bytea), 'hex'), substr(md5('seed' || o), 1, 16), 'valid',
       DATE '2025-01-01', DATE '2027-12-31', '', $1::timestamptz, $1::timestamptz, md5('officer' || o)::uuid
  FROM generate_series(0, {officers} - 1) o;

INSERT INTO "case" (id, number, title, type, status, handling_unit, is_major, major_reasons, amount, hearing_held,
                    created_at, updated_at, agency_id)
SELECT md5('case' || c)::uuid, '杭市监案〔2025〕' || lpad(c::text, 6, '0') || '号', '销售不合格食品案', 'penalty',
       'decided', '执法一队', c % 10 = 0, '[]'::jsonb, (c % 90 + 10) * 1000, false,
       $1::timestamptz + c * interval '1 minute', $1::timestamptz + c * interval '1 minute', md5('agency' || (c % {agencies}))::uuid
  FROM generate_series(0, {cases} - 1) c;

-- Two parties a case: a company and its legal representative (a person); one in five is bound to WeChat.
INSERT INTO party (id, kind, name, id_number, phone, wechat_openid, channel_preference, is_minor, created_at)
SELECT md5('party' || p)::uuid,
       CASE WHEN p % 2 = 0 THEN 'organization' ELSE 'person' END,
       CASE WHEN p % 2 = 0 THEN '杭州某某食品有限公司' || p ELSE '张' || p END,
       CASE WHEN p % 2 = 0 THEN '91330100MA' || lpad(p::text, 8, '0') ELSE '3301061990' || lpad(p::text, 8, '0') END,
       '138' || lpad(p::text, 8, '0'),
       CASE WHEN p % 5 = 0 THEN 'o' || md5('openid' || p) END,
       'both', false, $1::timestamptz
  FROM generate_series(0, 2 * {cases} - 1) p;

INSERT INTO case_party (binding_code_hash, case_id, party_id)
SELECT md5('binding' || p), md5('case' || (p / 2))::uuid, md5('party' || p)::uuid
  FROM generate_series(0, 2 * {cases} - 1) p;

INSERT INTO case_officer (role, case_id, officer_id)
SELECT CASE WHEN k = 0 THEN 'lead' ELSE 'assistant' END, md5('case' || c)::uuid,
       md5('officer' || ((c % {agencies}) + {agencies} * ((c / {agencies} * 2 + k) % {per_agency})))::uuid
  FROM generate_series(0, {cases} - 1) c, generate_series(0, 1) k;

INSERT INTO case_record (seq, step, occurred_at, place, officers, text, signature, signature_note, actor,
                         recorded_at, case_id, actor_name, actor_role, evidence_ids, leaf_index)
SELECT s, (ARRAY[{steps}])[s], $1::timestamptz + c * interval '1 minute', '杭州市西湖区文三路', '[]'::jsonb,
       '第' || s || '步：对案件' || lpad(c::text, 6, '0') || '依法开展' || (ARRAY[{steps}])[s]
         || '，现场检查经营场所，制作笔录并由当事人签字确认。',
       'not_required', '', 'bench', $1::timestamptz + c * interval '1 minute', md5('case' || c)::uuid, '基准测试', 'officer',
       '[]'::jsonb, c * {per_case} + s - 1
  FROM generate_series(0, {cases} - 1) c, generate_series(1, {n_steps}) s;

INSERT INTO decision (id, type, document_no, summary, decided_at, status, published_at, public_party_name,
                      current_version, created_at, updated_at, agency_id, case_id)
SELECT md5('decision' || c)::uuid, 'penalty', '杭市监处罚〔2025〕' || lpad(c::text, 6, '0') || '号',
       '销售不符合食品安全标准的食品', DATE '2025-03-01' + (c / 1000), 'published', $1::timestamptz + c * interval '1 minute',
       '杭州某某食品有限公司' || (2 * c), 1, $1::timestamptz + c * interval '1 minute', $1::timestamptz + c * interval '1 minute',
       md5('agency' || (c % {agencies}))::uuid, md5('case' || c)::uuid
  FROM generate_series(0, {cases} - 1) c;

INSERT INTO decision_version (id, version, kind, public_text, reason, actor, created_at, decision_id, actor_name,
                              actor_role, leaf_index)
SELECT md5('decision_version' || c)::uuid, 1, 'publish',
       '杭市监处罚〔2025〕' || lpad(c::text, 6, '0') || '号：当事人某某公司销售不符合食品安全标准的食品，违反《中华人民共和国食品'
         || '安全法》第三十四条，依据第一百二十四条，决定没收违法所得并处罚款人民币' || ((c % 90 + 10) * 1000) || '元。',
       '', 'bench', $1::timestamptz + c * interval '1 minute', md5('decision' || c)::uuid, '基准测试', 'officer',
       c * {per_case} + {n_steps}
  FROM generate_series(0, {cases} - 1) c;
"""


def seed_sql(n_cases: int) -> list[str]:
    text = SEED_SQL.format(agencies=AGENCIES, officers=AGENCIES * OFFICERS_PER_AGENCY, per_agency=OFFICERS_PER_AGENCY,
                           cases=n_cases, per_case=LEAVES_PER_CASE, n_steps=len(RECORD_STEPS),
                           steps=", ".join(f"'{s}'" for s in RECORD_STEPS))
    return [s.strip() for s in text.split(";\n") if s.strip()]


async def seed(url: str, n_cases: int) -> dict[str, float]:
    import asyncpg

    timings: dict[str, float] = {}
    conn = await asyncpg.connect(url)
    try:
        started = time.monotonic()
        rows = leaves(n_cases)
        timings["leaves built (Python: canonical JSON, hashes, nodes)"] = time.monotonic() - started
        started = time.monotonic()
        async with conn.transaction():
            await conn.copy_records_to_table("log_leaf", records=rows, columns=list(LEAF_COLUMNS))
        timings["leaves copied (COPY)"] = time.monotonic() - started
        del rows
        started = time.monotonic()
        async with conn.transaction():
            for statement in seed_sql(n_cases):
                await conn.execute(statement, *([T0] if "$1" in statement else []))
        timings["domain rows (INSERT … SELECT generate_series)"] = time.monotonic() - started
        started = time.monotonic()
        await conn.execute("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.monotonic() - started
    finally:
        await conn.close()
    return timings


async def leaf_digests(url: str) -> tuple[int, str, str]:
    """(leaf count, content digest, physical digest): SHA-256 over every row's digest in index order."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        content, physical, count = hashlib.sha256(), hashlib.sha256(), 0
        async with conn.transaction():
            async for row in conn.cursor(f"SELECT {ROW_DIGEST_SQL}, {PHYSICAL_DIGEST_SQL} FROM log_leaf "
                                         "ORDER BY leaf_index", prefetch=10_000):
                content.update(row[0])
                physical.update(row[1].encode())
                count += 1
    finally:
        await conn.close()
    return count, content.hexdigest(), physical.hexdigest()


async def migrate_to(url: str, target: str | None) -> list[tuple[str, float]]:
    """Apply migrations up to ``target`` (the head if None); each migration's name and seconds."""
    times: list[tuple[str, float]] = []
    started: dict[str, float] = {}

    def progress(event: str, app: str, name: str) -> None:
        if event == "apply_start":
            started[name] = time.monotonic()
        elif event == "apply_done":
            times.append((name, time.monotonic() - started[name]))

    await migrate(url, target=target, progress=progress)
    return times


async def table_sizes(url: str) -> list[tuple[str, int, str]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables "
            "WHERE n_live_tup > 0 ORDER BY pg_total_relation_size(relid) DESC")
        total = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await conn.close()
    return [(r[0], r[1], r[2]) for r in rows] + [("(database)", 0, total)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--from", dest="start", default="0005_transparency_log",
                    help="the migration the production database is at before the upgrade")
    ap.add_argument("--database-url", default="", help="an EMPTY PostgreSQL database (default: a throwaway server)")
    args = ap.parse_args()

    server = None
    url = args.database_url
    if not url:
        from tests.support.servers import start_postgres

        server = start_postgres()
        server.psql("CREATE DATABASE upgrade")
        url = server.url("upgrade")
    try:
        before = asyncio.run(migrate_to(url, args.start))
        print(f"schema at {args.start} ({len(before)} migrations, {sum(t for _, t in before):.1f}s "
              "on an empty database)")
        for step, seconds in asyncio.run(seed(url, args.cases)).items():
            print(f"  seeded {step}: {seconds:.1f}s")
        print(f"{'table':<24} {'rows':>10} {'size':>10}")
        for name, rows, size in asyncio.run(table_sizes(url)):
            print(f"{name:<24} {rows or '':>10} {size:>10}")
        count, content_before, physical_before = asyncio.run(leaf_digests(url))
        forward = asyncio.run(migrate_to(url, None))
        count_after, content_after, physical_after = asyncio.run(leaf_digests(url))
    finally:
        if server is not None:
            server.stop("immediate")
    print(f"\nforward from {args.start} to the head, {args.cases:,} cases, {count:,} leaves (PostgreSQL):")
    print(f"{'migration':<42} {'seconds':>8}")
    for name, seconds in forward:
        print(f"{name:<42} {seconds:8.2f}")
    print(f"{'total':<42} {sum(t for _, t in forward):8.2f}")
    same = count == count_after and content_before == content_after
    print(f"\nlog leaves: {count:,} before, {count_after:,} after; content digest "
          f"{'identical' if same else 'CHANGED'} ({content_after[:16]}…)")
    print(f"leaf rows physically untouched (xmin, ctid): {'yes' if physical_before == physical_after else 'no'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
