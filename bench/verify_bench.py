"""Scan throughput: wrk against /mp/v1/verify/{token} on one `yangguang serve` process with 10,000
officers and credentials, and against a bare aiohttp JSON handler, in the same run; prints the ratio.

    python bench/verify_bench.py [--officers 10000] [--duration 15] [--connections 32] [--with-postgres-redis]

Runs on the embedded default (SQLite in a temporary data folder); pass --database-url postgres://…
(an empty, migrated or migratable database) and --redis-url to measure the production shape.
The wrk Lua script rotates over every issued token, so the cache is exercised as in the field.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.db import migrate, orm  # noqa: E402
from backend.models import Credential, Officer, Scan  # noqa: E402
from backend.services.agencies import create_agency, with_check_digit  # noqa: E402
from backend.services.disclosure.verification import KeyStore  # noqa: E402
from backend.settings import Settings  # noqa: E402
from qr import tokens as qr_tokens  # noqa: E402
from tests.support.servers import free_port  # noqa: E402


async def seed(settings: Settings, n: int) -> list[str]:
    await migrate(settings.database_url)
    keys = KeyStore(settings.data_dir)
    out: list[str] = []
    async with orm(settings):
        agency, _, _ = await create_agency("基准测试市场监督管理局", with_check_digit("11330100MB0000009"),
                                       actor="bench")
        officers = [Officer(agency_id=agency.id, name=f"执法{i:05d}", certificate_no=f"B{i:012d}",
                            categories=["市场监管"], region="杭州市西湖区") for i in range(n)]
        await Officer.bulk_create(officers, batch_size=1000)
        ids = await Officer.filter(agency_id=agency.id).values_list("id", flat=True)
        creds = []
        for officer_id in ids:
            seed_, token = keys.mint()
            creds.append(Credential(officer_id=officer_id, token_hash=qr_tokens.token_hash(token), token_seed=seed_,
                                    valid_from=date(2026, 1, 1), valid_until=date(2028, 12, 31)))
            out.append(token)
        await Credential.bulk_create(creds, batch_size=1000)
    return out


def lua_script(path: Path, prefix: str, tokens: list[str]) -> None:
    body = ",\n".join(f'"{t}"' for t in tokens)
    path.write_text(
        f"local tokens = {{\n{body}\n}}\nlocal n = #tokens\nlocal i = 0\n"
        f"request = function()\n  i = i + 1\n"
        f"  return wrk.format('GET', '{prefix}' .. tokens[(i % n) + 1])\nend\n")


async def scan_all(prefix: str, tokens: list[str], concurrency: int) -> float:
    import aiohttp

    queue = list(tokens)
    started = time.monotonic()

    async def worker(http: aiohttp.ClientSession) -> None:
        while queue:
            async with http.get(prefix + queue.pop()) as resp:
                assert resp.status == 200, resp.status
                await resp.read()

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return len(tokens) / (time.monotonic() - started)


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (the SQLite writer thread included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


ANSWERED: dict[str, int] = {}  # url -> requests wrk counted as answered, over every call


async def count_scans(settings: Settings) -> int:
    async with orm(settings):
        return await Scan.all().count()


def wrk(url: str, script: Path, duration: int, connections: int, pid: int | None = None) -> tuple[float, str]:
    """wrk's rate and latency; with ``pid``, also the server's CPU per answered request (µs), which
    moves far less than the rate when other work shares the machine."""
    cpu_before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    # The latency distribution's own lines: "92.50%" in the thread stats above must not match.
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    cpu = ""
    answered = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    ANSWERED[url] = ANSWERED.get(url, 0) + answered
    if pid:
        cpu = f", CPU {(cpu_seconds(pid) - cpu_before) / max(1, answered) * 1e6:.0f} µs/request"
    return rps, f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}{cpu}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--officers", type=int, default=10_000)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--redis-url", default="")
    ap.add_argument("--with-postgres-redis", action="store_true",
                    help="start a throwaway PostgreSQL and Redis (Debian binaries) and measure on them")
    ap.add_argument("--py-spy", metavar="FILE", default="",
                    help="after the rounds, profile `serve` under wrk for 8 s (py-spy, collapsed stacks to FILE)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="yg-bench-"))
    servers: list = []  # type: ignore[type-arg]
    if args.with_postgres_redis:
        from tests.support.servers import start_postgres, start_redis

        pg, redis = start_postgres(), start_redis()
        servers += [pg, redis]
        pg.psql("CREATE DATABASE bench")
        args.database_url, args.redis_url = pg.url("bench"), redis.url
    env = {**os.environ, "YANGGUANG_DATA_DIR": str(work / "data"), "YANGGUANG_LOG_LEVEL": "WARNING",
           "YANGGUANG_SCAN_RATE_PER_MINUTE": "1000000000", "PYTHONPATH": str(ROOT)}
    if args.database_url:
        env["YANGGUANG_DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["YANGGUANG_REDIS_URL"] = args.redis_url
    settings = Settings.from_env(env)
    started = time.monotonic()
    tokens = asyncio.run(seed(settings, args.officers))
    print(f"seeded {len(tokens)} officers and credentials in {time.monotonic() - started:.1f}s "
          f"({'SQLite' if settings.database_is_sqlite else 'PostgreSQL'}"
          f"{', Redis' if settings.redis_url else ''})")
    script = work / "rotate.lua"
    lua_script(script, "/mp/v1/verify/", tokens)

    port, bare_port = free_port(), free_port()
    serve = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", serve)
        wait_up(f"http://127.0.0.1:{bare_port}/mp/v1/verify/x", bare)
        # Warm both: every token is scanned once, so the verify cache holds them all, as it would
        # over a working day; the cold path (one indexed join per token) is timed separately.
        cold = asyncio.run(scan_all(f"http://127.0.0.1:{port}/mp/v1/verify/", tokens, args.connections))
        print(f"cold scans (cache miss, one query each): {cold:.0f} req/s")
        wrk(f"http://127.0.0.1:{port}", script, 3, args.connections)
        wrk(f"http://127.0.0.1:{bare_port}", script, 2, args.connections)
        # Interleaved rounds, so background load on a shared machine hits both sides alike.
        rounds, verify_runs, bare_runs = 3, [], []
        for _ in range(rounds):
            verify_runs.append(wrk(f"http://127.0.0.1:{port}", script, max(1, args.duration // rounds),
                                   args.connections, serve.pid))
            bare_runs.append(wrk(f"http://127.0.0.1:{bare_port}", script, max(1, args.duration // rounds),
                                 args.connections, bare.pid))
            print(f"  round: verify {verify_runs[-1][0]:.0f} req/s ({verify_runs[-1][1]}), "
                  f"bare {bare_runs[-1][0]:.0f} req/s ({bare_runs[-1][1]})", flush=True)
        verify_rps, verify_lat = sum(r for r, _ in verify_runs) / rounds, verify_runs[-1][1]
        bare_rps, bare_lat = sum(r for r, _ in bare_runs) / rounds, bare_runs[-1][1]
        if args.py_spy:
            spy = subprocess.Popen(["py-spy", "record", "-r", "250", "-d", "8", "-f", "raw", "-o", args.py_spy,
                                    "-p", str(serve.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wrk(f"http://127.0.0.1:{port}", script, 10, args.connections)
            spy.wait(30)
        serve.terminate()
        serve.wait(30)  # its shutdown flushes the scan recorder's last batch
        # Every answered scan is recorded, whichever path answered it (wrk leaves out the answers
        # in flight when it stops, so the table may hold a few more).
        recorded, answered = asyncio.run(count_scans(settings)), len(tokens) + ANSWERED[f"http://127.0.0.1:{port}"]
        print(f"scans recorded: {recorded} for {answered} answered")
        if recorded < answered:
            raise SystemExit(f"{answered - recorded} answered scans were not recorded")
    finally:
        for proc in (serve, bare):
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)
        for server in servers:
            server.stop()
    ratio = verify_rps / bare_rps
    print(f"wrk -t1 -c{args.connections}, 3 interleaved rounds of {max(1, args.duration // 3)}s each, "
          f"{len(tokens)} tokens rotating")
    print(f"  /mp/v1/verify/{{token}} (yangguang serve, 1 process): {verify_rps:9.0f} req/s  {verify_lat}")
    print(f"  bare aiohttp JSON handler (1 process):            {bare_rps:9.0f} req/s  {bare_lat}")
    print(f"  ratio: {ratio:.2f}  (must be >= 0.5, goal 0.8)")
    sys.exit(0 if ratio >= 0.5 else 1)


if __name__ == "__main__":
    main()
