"""Backups that restore: a consistent snapshot of the database, the evidence files, the officers' photos,
the log signing keys and the QR keys, with a manifest of SHA-256 sums; and a restore that refuses a
damaged backup or a non-empty target, then proves the restored log against the backup's checkpoint.

A backup folder (0700, every file 0600) ::

    backup.json        what was backed up: format, time, database kind, the checkpoint's size and root,
                       the encryption parameters (no secret)
    checkpoint.txt     the latest signed checkpoint, signed just before the snapshot (C2SP note)
    database.sqlite3   SQLite: the online backup API's copy     | database.pgdump  PostgreSQL: pg_dump -Fc
    keys/…             log-signer.json (the log's Ed25519 keys), qr-keys.json (the QR token keys)
    evidence/ab/<sha>  the evidence files, by content
    photos/…           the officers' photos
    MANIFEST.sha256    `sha256sum -c` format: one line per file above (of the bytes stored)

Consistency while the service runs: the checkpoint is signed first, then the database is snapshot
(SQLite's backup API and pg_dump each read one consistent state), then the files are copied. Evidence
files are written before their row commits and never deleted, so every row of the snapshot finds its
file; a file uploaded after the snapshot is copied too and is harmless (no row names it). Keys only
grow (rotation keeps old public keys and QR keys), so the copy verifies everything the snapshot holds.

Encryption (optional, ``passphrase``): scrypt (n=2^17, r=8, p=1, a random 16-byte salt) derives a
256-bit key; every file but backup.json, checkpoint.txt and the manifest is AES-256-GCM in 1 MiB
chunks (the STREAM construction: nonce = 7 random bytes per file ‖ 32-bit chunk counter ‖ last-chunk
flag; the file's path is the associated data, so chunks cannot be reordered, truncated, or files
swapped). The manifest sums the stored (encrypted) bytes, so `sha256sum -c MANIFEST.sha256` checks a
backup without the passphrase. Never imports aiohttp.
"""

from __future__ import annotations

import asyncio
import base64
import glob
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from backend.clock import Clock
from backend.files import private_dir, private_stream, sqlite_file
from backend.services.records.evidence import evidence_dir
from backend.settings import Settings

FORMAT = 1
META, CHECKPOINT, MANIFEST = "backup.json", "checkpoint.txt", "MANIFEST.sha256"
DB_FILES = {"sqlite": "database.sqlite3", "postgres": "database.pgdump"}
FOLDERS = ("keys", "evidence", "photos")  # copied from the data folder, in this order
PLAIN = {META, CHECKPOINT}  # never encrypted: they hold no personal data and say how to decrypt
CHUNK = 1 << 20
MAGIC = b"YGBK1\n"
SCRYPT = {"n": 2**17, "r": 8, "p": 1}
_LINE = re.compile(r"([0-9a-f]{64})  (\S(?:.*\S)?)")


class BackupError(Exception):
    """A backup cannot be made or restored; ``problems`` names each thing that is wrong (Chinese)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


# --- encryption ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    aead: AESGCM
    check: str  # HMAC of a fixed text under the key: tells a wrong passphrase from a damaged file

    @classmethod
    def derive(cls, passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> _Key:
        raw = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)
        return cls(AESGCM(raw), hmac.new(raw, b"yangguang backup passphrase check", "sha256").hexdigest())


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(src: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """The source in CHUNK-sized pieces, each with whether it is the last (an empty source: one empty)."""
    current = src.read(CHUNK)
    while True:
        ahead = src.read(CHUNK) if len(current) == CHUNK else b""
        yield current, not ahead
        if not ahead:
            return
        current = ahead


def _encrypt(key: _Key, name: str, src: IO[bytes], write: Callable[[bytes], object]) -> None:
    prefix = secrets.token_bytes(7)
    write(MAGIC + prefix)
    for counter, (piece, last) in enumerate(_chunks(src)):
        write(key.aead.encrypt(_nonce(prefix, counter, last), piece, name.encode()))


def _decrypt(key: _Key, name: str, src: IO[bytes], write: Callable[[bytes], object]) -> None:
    head = src.read(len(MAGIC) + 7)
    if not head.startswith(MAGIC) or len(head) != len(MAGIC) + 7:
        raise BackupError(f"{name} 不是本系统加密的备份文件")
    prefix = head[len(MAGIC):]
    step = CHUNK + 16
    current = src.read(step)
    counter = 0
    while True:
        ahead = src.read(step) if len(current) == step else b""
        try:
            write(key.aead.decrypt(_nonce(prefix, counter, not ahead), current, name.encode()))
        except InvalidTag as exc:
            raise BackupError(f"{name} 无法解密：文件被改动、截断或换位") from exc
        if not ahead:
            return
        current, counter = ahead, counter + 1


# --- the backup folder -----------------------------------------------------------------------------


@dataclass
class _Writer:
    """Writes the backup's files, each 0600, encrypting where asked, and keeps their sums."""

    root: Path
    key: _Key | None
    sums: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, src: IO[bytes]) -> None:
        digest = hashlib.sha256()
        with private_stream(self.root / name) as out:
            def write(data: bytes) -> None:
                digest.update(data)
                out.write(data)

            if self.key is not None and name not in PLAIN:
                _encrypt(self.key, name, src, write)
            else:
                while piece := src.read(CHUNK):
                    write(piece)
        self.sums[name] = digest.hexdigest()

    def put_bytes(self, name: str, data: bytes) -> None:
        import io

        self.put(name, io.BytesIO(data))

    def manifest(self) -> None:
        lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.sums.items()))
        with private_stream(self.root / MANIFEST) as out:
            out.write(lines.encode())


def _data_files(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(name in the backup, path) of every file to copy: keys, evidence (not its tmp/), photos."""
    skip = evidence_dir(data_dir) / "tmp"
    for folder in FOLDERS:
        base = data_dir / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if here / d != skip and not d.startswith("."))
            for fname in sorted(filenames):
                path = here / fname
                if fname.startswith(".") or not path.is_file() or path.is_symlink():
                    continue  # temporary files of a write in progress
                yield path.relative_to(data_dir).as_posix(), path


def _dialect(settings: Settings) -> str:
    return "sqlite" if settings.database_is_sqlite else "postgres"


def _sqlite_path(database_url: str) -> Path:
    path = sqlite_file(database_url)  # the one parser of a sqlite:// URL
    if path is None:
        raise BackupError("内存中的 SQLite 数据库（:memory:）没有文件，无法备份或恢复")
    return Path(path)


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: on the PATH, else the newest under /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0), reverse=True)
    if not candidates:
        raise BackupError(f"找不到 {name}：请安装 postgresql-client（apt-get install postgresql-client）")
    return candidates[0]


def _pg_env(database_url: str) -> dict[str, str]:
    """libpq's variables for the URL: the password never appears on a command line."""
    url = urllib.parse.urlsplit(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGHOST": url.hostname or "localhost", "PGPORT": str(url.port or 5432),
                "PGDATABASE": urllib.parse.unquote(url.path.lstrip("/")), "PGCONNECT_TIMEOUT": "10"})
    if url.username:
        env["PGUSER"] = urllib.parse.unquote(url.username)
    if url.password:
        env["PGPASSWORD"] = urllib.parse.unquote(url.password)
    return env


def _snapshot_database(settings: Settings, writer: _Writer) -> None:
    name = DB_FILES[_dialect(settings)]
    if settings.database_is_sqlite:
        with tempfile.TemporaryDirectory(dir=writer.root) as tmp:  # inside the 0700 backup folder
            copy = Path(tmp) / "snapshot.sqlite3"
            src = sqlite3.connect(_sqlite_path(settings.database_url))
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)  # the online backup API: one consistent state, writers keep writing
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                dst.close()
                src.close()
            with copy.open("rb") as fh:
                writer.put(name, fh)
        return
    proc = subprocess.Popen([pg_tool("pg_dump"), "--format=custom", "--no-password"], env=_pg_env(
        settings.database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        writer.put(name, proc.stdout)
    finally:
        err = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    if code != 0:
        raise BackupError(f"pg_dump 失败（退出码 {code}）：{err.strip()[-500:]}")


@dataclass(frozen=True)
class Created:
    path: Path
    files: int
    log_size: int
    root_hash: str


def _work_folder(out: Path) -> tuple[Path, Path]:
    """The final folder (absent or empty) and the 0700 folder the backup is written in, beside it."""
    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"输出目录 {out} 已存在且不是空目录")
    private_dir(out.parent)
    return out, Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))


async def create(settings: Settings, clock: Clock, out: Path, passphrase: bytes | None = None) -> Created:
    """Write a backup to ``out`` (absent or an empty folder); it appears there complete or not at all."""
    from backend.services.transparency.checkpoints import make_checkpoint

    out, work = await asyncio.to_thread(_work_folder, out)
    try:
        meta: dict[str, Any] = {"format": FORMAT, "created_at": clock.now().isoformat(),
                                "database": _dialect(settings), "log_origin": settings.log_origin,
                                "encryption": None}
        key = None
        if passphrase is not None:
            salt = secrets.token_bytes(16)
            key = await asyncio.to_thread(_Key.derive, passphrase, salt, **SCRYPT)
            meta["encryption"] = {"cipher": "AES-256-GCM", "chunk": CHUNK, "kdf": "scrypt", **SCRYPT,
                                  "salt": base64.b64encode(salt).decode(), "check": key.check}
        writer = _Writer(work, key)
        checkpoint = await make_checkpoint(settings, clock)  # before the snapshot, so the snapshot holds it
        meta["checkpoint"] = {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash}
        writer.put_bytes(CHECKPOINT, checkpoint.note.encode())
        await asyncio.to_thread(_snapshot_database, settings, writer)

        def copy_files() -> None:
            for name, path in _data_files(settings.data_dir):
                try:
                    with path.open("rb") as fh:
                        writer.put(name, fh)
                except FileNotFoundError:
                    continue  # a photo replaced meanwhile: its row names the new one, copied too

        await asyncio.to_thread(copy_files)
        meta["files"] = len(writer.sums) + 1
        writer.put_bytes(META, json.dumps(meta, ensure_ascii=False, indent=1).encode())
        writer.manifest()
        os.replace(work, out)  # onto an absent or empty folder: the backup appears whole
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Created(out, len(writer.sums), checkpoint.tree_size, checkpoint.root_hash)


# --- restore ---------------------------------------------------------------------------------------


def check(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The backup's metadata and manifest, after checking every file against the manifest and the
    manifest against the files. BackupError lists each problem by file name."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise BackupError(f"{folder} 不是完整的备份：缺少 {MANIFEST}")
    problems: list[str] = []
    sums: dict[str, str] = {}
    for number, line in enumerate((folder / MANIFEST).read_text("utf-8", errors="replace").splitlines(), 1):
        m = _LINE.fullmatch(line)
        name = m.group(2) if m else ""
        if m is None or name.startswith("/") or ".." in name.split("/") or name == MANIFEST:
            problems.append(f"清单第 {number} 行格式错误")
            continue
        sums[name] = m.group(1)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    for name in sorted(present - sums.keys()):
        problems.append(f"{name}：不在清单中（清单缺少这一行，或文件是后来加入的）")
    for name in sorted(sums.keys() - present):
        problems.append(f"{name}：清单中有，备份中缺失")
    for name in sorted(sums.keys() & present):
        path = folder / name
        if path.is_symlink():
            problems.append(f"{name}：是符号链接，不是备份写入的文件")
            continue
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while piece := fh.read(CHUNK):
                digest.update(piece)
        if digest.hexdigest() != sums[name]:
            problems.append(f"{name}：SHA-256 与清单不符（文件被改动或损坏）")
    if problems:
        raise BackupError("备份校验失败，拒绝恢复", problems)
    try:
        meta = json.loads((folder / META).read_bytes())
        if meta.get("format") != FORMAT or meta.get("database") not in DB_FILES:
            raise ValueError("format")
    except (OSError, ValueError) as exc:
        raise BackupError(f"{META} 无法读取或不是本系统的备份格式") from exc
    if DB_FILES[meta["database"]] not in sums or CHECKPOINT not in sums:
        raise BackupError("备份不完整：缺少数据库快照或检查点")
    return meta, sums


def _empty_target(settings: Settings, dialect: str) -> None:
    data_dir = settings.data_dir
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(f"数据目录 {data_dir} 不是空的：只能恢复到空的数据目录（YANGGUANG_DATA_DIR）")
    if dialect != _dialect(settings):
        raise BackupError(f"备份的数据库是 {dialect}，目标（YANGGUANG_DATABASE_URL）是 {_dialect(settings)}")
    if settings.database_is_sqlite:
        path = _sqlite_path(settings.database_url)
        if path.exists() and path.stat().st_size > 0:
            raise BackupError(f"目标数据库文件 {path} 已存在：只能恢复到空数据库")


async def _pg_is_empty(database_url: str) -> bool:
    import asyncpg  # type: ignore[import-untyped]

    url = urllib.parse.urlsplit(database_url)
    conn = await asyncpg.connect(urllib.parse.urlunsplit(("postgresql", url.netloc, url.path, "", "")), timeout=10)
    try:
        count = await conn.fetchval("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
    finally:
        await conn.close()
    return int(count) == 0


def _restore_files(folder: Path, meta: dict[str, Any], sums: dict[str, str], key: _Key | None,
                   settings: Settings) -> None:
    db_name = DB_FILES[meta["database"]]
    for name in sorted(sums):
        if name in PLAIN or name == db_name:
            continue
        if name.split("/", 1)[0] not in FOLDERS:
            raise BackupError(f"{name}：不是备份会写入的文件")
        with (folder / name).open("rb") as src, private_stream(settings.data_dir / name) as out:
            _copy(key, name, src, out)


def _copy(key: _Key | None, name: str, src: BinaryIO, out: BinaryIO) -> None:
    if key is not None:
        _decrypt(key, name, src, out.write)
    else:
        shutil.copyfileobj(src, out, CHUNK)


def _restore_database(folder: Path, meta: dict[str, Any], key: _Key | None, settings: Settings) -> None:
    name = DB_FILES[meta["database"]]
    if settings.database_is_sqlite:
        with (folder / name).open("rb") as src, private_stream(_sqlite_path(settings.database_url)) as out:
            _copy(key, name, src, out)
        return
    cmd = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
           "--no-password", "--dbname", _pg_env(settings.database_url)["PGDATABASE"]]
    env = _pg_env(settings.database_url)
    with (folder / name).open("rb") as src:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stderr is not None
        try:
            _copy(key, name, src, proc.stdin)  # type: ignore[arg-type]
        except BrokenPipeError:
            pass  # pg_restore stopped early: its exit code and message say why
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        err = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    if code != 0:
        raise BackupError(f"pg_restore 失败（退出码 {code}）：{err.strip()[-500:]}")


@dataclass
class Restored:
    ok: bool
    log_size: int
    root_hash: str
    checkpoint_size: int
    problems: list[str]


async def restore(settings: Settings, folder: Path, passphrase: bytes | None = None,
                  extra_checkpoint: bytes | None = None) -> Restored:
    """Restore ``folder`` into the empty data folder and database of ``settings``, then audit the whole
    log (hashes, tree, every checkpoint, the backup's checkpoint and ``extra_checkpoint`` if given,
    every leaf against its row and evidence file). ``ok`` only when nothing is wrong."""
    from backend.db import migrate, orm
    from backend.services.leaf_sources import registry, rows_against_log
    from backend.services.transparency.checkpoints import LogKeys
    from backend.services.transparency.verify import audit

    folder = await asyncio.to_thread(Path(folder).absolute)
    meta, sums = await asyncio.to_thread(check, folder)
    _empty_target(settings, meta["database"])
    if not settings.database_is_sqlite and not await _pg_is_empty(settings.database_url):
        raise BackupError("目标 PostgreSQL 数据库不是空的：只能恢复到新建的空数据库")
    key = None
    enc = meta.get("encryption")
    if enc is not None:
        if passphrase is None:
            raise BackupError("备份已加密：请用 --passphrase-file 提供口令")
        key = await asyncio.to_thread(_Key.derive, passphrase, base64.b64decode(enc["salt"]),
                                      int(enc["n"]), int(enc["r"]), int(enc["p"]))
        if not hmac.compare_digest(key.check, str(enc.get("check", ""))):
            raise BackupError("口令不正确")
    private_dir(settings.data_dir)
    await asyncio.to_thread(_restore_database, folder, meta, key, settings)
    await asyncio.to_thread(_restore_files, folder, meta, sums, key, settings)
    await migrate(settings.database_url)  # an older backup comes forward; migrations never rewrite leaves

    note = (folder / CHECKPOINT).read_bytes()
    async with orm(settings):
        keys = LogKeys(settings.data_dir).verifiers()
        report = await audit(keys, given=note, sources=registry(settings.data_dir))
        report.problems.extend(await rows_against_log())
        if extra_checkpoint is not None:  # a checkpoint kept elsewhere (a witness, an earlier `audit checkpoint`)
            extra = await audit(keys, given=extra_checkpoint)
            report.problems.extend(p for p in extra.problems if p not in report.problems)
    problems = [p.line() for p in report.problems]
    size = int(meta["checkpoint"]["tree_size"])
    if report.size < size:
        problems.append(f"恢复的日志只有 {report.size} 条，少于备份检查点的 {size} 条")
    return Restored(not problems, report.size, report.root.hex(), size, problems)
