"""Start real PostgreSQL and Redis servers from Debian's binaries on free loopback ports.

Used by the test fixtures and by the benchmarks; nothing here is a mock.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise RuntimeError(f"PostgreSQL binary {name!r} not found: apt-get install postgresql")
    return candidates[0]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; Debian's package creates the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    port: int
    datadir: Path
    socket_dir: Path

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        out = subprocess.run(
            [shutil.which("psql") or _pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "-d", dbname, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout

    def start(self) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-l", str(self.datadir / "pg.log"),
                          "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                          "-c max_connections=300",
                          "-w", "start"]),
            check=True, capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]),
                       capture_output=True)

    def restart(self) -> None:
        self.stop()
        self.start()


def start_postgres() -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="yg-pg-"))
    datadir, socket_dir = root / "data", root / "sock"
    datadir.mkdir()
    socket_dir.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (root, datadir, socket_dir):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True,
    )
    server = PostgresServer(port=free_port(), datadir=datadir, socket_dir=socket_dir)
    server.start()
    return server


@dataclass
class RedisServer:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server not found: apt-get install redis-server")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def start_redis() -> RedisServer:
    server = RedisServer(port=free_port(), workdir=Path(tempfile.mkdtemp(prefix="yg-redis-")))
    server.start()
    return server
