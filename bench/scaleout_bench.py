"""Scale-out on PostgreSQL + Redis: req/s, p99 and memory per process for 1, 2 and 4 app processes
(`yangguang serve --workers N`) with 1 and 2 notification workers (`yangguang worker`).

    python bench/scaleout_bench.py [--officers 2000] [--duration 6] [--connections 32] [--processes 1,2,4]
                                   [--workers 1,2] [--search-path '/mp/v1/decisions?type=penalty']

Targets: (a) the scan `/mp/v1/verify/{token}` (tokens rotating), (b) the public search (``--search-path``;
skipped with "search: not available on this build" where it answers 404), (c) the complaint intake
`POST /mp/v1/complaints` (anonymous, about a rotating officer token; each request from its own
address through `X-Forwarded-For` from a trusted proxy, as behind nginx, so the per-client limit of
10 an hour does not refuse the bench). Memory: VmRSS of every serving process from /proc after the
runs. Throwaway PostgreSQL and Redis servers (Debian's binaries), like bench/verify_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from verify_bench import seed, wait_up, wrk  # noqa: E402

from backend.settings import Settings  # noqa: E402
from tests.support.servers import free_port, start_postgres, start_redis  # noqa: E402

RSS_LIMIT_MB = 150


def scan_script(path: Path, tokens: list[str]) -> None:
    body = ",\n".join(f'"{t}"' for t in tokens)
    path.write_text(f"local tokens = {{\n{body}\n}}\nlocal n = #tokens\nlocal i = 0\n"
                    "request = function()\n  i = i + 1\n"
                    "  return wrk.format('GET', '/mp/v1/verify/' .. tokens[(i % n) + 1])\nend\n")


def search_script(path: Path, search_path: str) -> None:
    path.write_text(f"request = function()\n  return wrk.format('GET', '{search_path}')\nend\n")


def complaint_script(path: Path, tokens: list[str], block: int) -> None:
    body = ",\n".join(f'"{t}"' for t in tokens)
    # A distinct client address per request (10.block.b.c), forwarded by the trusted proxy (127.0.0.1).
    # Each wrk run gets its own block: wrk's Lua random is not seeded, so without it every run would
    # send from the same addresses and the per-client limit (a burst of 5) would refuse later runs.
    path.write_text(
        f"local tokens = {{\n{body}\n}}\nlocal n = #tokens\nlocal i = 0\n"
        f"local block = {block % 256}\n"
        "request = function()\n  i = i + 1\n"
        "  local ip = string.format('10.%d.%d.%d', block, math.floor(i / 250) % 250, i % 250 + 1)\n"
        "  local b = '{\"kind\":\"complaint\",\"about\":{\"type\":\"officer\",\"officer_token\":\"' .. "
        "tokens[(i % n) + 1] .. '\"},\"text\":\"执法时未出示证件，态度粗暴\"}'\n"
        "  return wrk.format('POST', '/mp/v1/complaints', {['Content-Type'] = 'application/json', "
        "['X-Forwarded-For'] = ip}, b)\nend\n")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--officers", type=int, default=2000)
    ap.add_argument("--duration", type=int, default=6)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--processes", default="1,2,4")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--search-path", default="/mp/v1/decisions?type=penalty")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="yg-scaleout-"))
    pg, redis = start_postgres(), start_redis()
    pg.psql("CREATE DATABASE bench")
    env = {**os.environ, "YANGGUANG_DATA_DIR": str(work / "data"), "YANGGUANG_LOG_LEVEL": "WARNING",
           "YANGGUANG_SCAN_RATE_PER_MINUTE": "1000000000", "PYTHONPATH": str(ROOT),
           "YANGGUANG_DATABASE_URL": pg.url("bench"), "YANGGUANG_REDIS_URL": redis.url,
           "YANGGUANG_TRUSTED_PROXIES": "127.0.0.1"}
    results: list[tuple[str, int, int, float, str, list[float]]] = []
    try:
        tokens = asyncio.run(seed(Settings.from_env(env), args.officers))
        scripts = {"scan": work / "scan.lua", "search": work / "search.lua", "complaint": work / "complaint.lua"}
        scan_script(scripts["scan"], tokens)
        search_script(scripts["search"], args.search_path)
        blocks = iter(range(256))
        for n_workers in (int(x) for x in args.workers.split(",")):
            workers = [subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(n_workers)]
            try:
                for n in (int(x) for x in args.processes.split(",")):
                    port = free_port()
                    serve = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port),
                                              "--workers", str(n)], env=env, cwd=ROOT,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    try:
                        base = f"http://127.0.0.1:{port}"
                        wait_up(f"{base}/healthz", serve)
                        time.sleep(1)
                        for target, script in scripts.items():
                            if target == "search":
                                try:
                                    urllib.request.urlopen(base + args.search_path, timeout=5).close()
                                except urllib.error.HTTPError as exc:
                                    if exc.code == 404:
                                        print("search: not available on this build")
                                        continue
                                    raise
                            if target == "complaint":
                                complaint_script(script, tokens, next(blocks))
                            wrk(base, script, 2, args.connections)  # warm-up
                            if target == "complaint":
                                complaint_script(script, tokens, next(blocks))
                            rps, lat = wrk(base, script, args.duration, args.connections)
                            pids = children(serve.pid) or [serve.pid]
                            results.append((target, n, n_workers, rps, lat, [rss_mb(p) for p in pids]))
                            print(f"{target:<10} processes={n} workers={n_workers}: {rps:8.0f} req/s  {lat}  "
                                  f"RSS {', '.join(f'{m:.0f}' for m in results[-1][5])} MB", flush=True)
                    finally:
                        serve.terminate()
                        serve.wait(30)
                worker_rss = [rss_mb(w.pid) for w in workers]
                print(f"notification workers ({n_workers}): RSS {', '.join(f'{m:.0f}' for m in worker_rss)} MB")
            finally:
                for w in workers:
                    w.terminate()
                    w.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        pg.stop("immediate")
        redis.stop()
    print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s; {os.cpu_count()} cores shared with other work")
    print(f"{'target':<10} {'processes':>9} {'workers':>7} {'req/s':>9}  latency               max RSS (MB)")
    for target, n, w, rps, lat, rss in results:
        print(f"{target:<10} {n:>9} {w:>7} {rps:>9.0f}  {lat:<21} {max(rss):.0f}")
    worst = max((max(r[5]) for r in results), default=0.0)
    print(f"largest serving process: {worst:.0f} MB (limit {RSS_LIMIT_MB} MB)")
    sys.exit(0 if worst < RSS_LIMIT_MB else 1)


if __name__ == "__main__":
    main()
