"""Signed tree heads: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519, and the key store.

A checkpoint is the note text ::

    yangguang.local/log
    1234
    <base64 root hash>

followed by a blank line and one signature line per key,
``— <key name> <base64(4-byte key hash ‖ Ed25519 signature)>``, where the key hash is the first
four bytes of SHA-256(key name ‖ "\\n" ‖ 0x01 ‖ public key) (signed-note, algorithm 0x01 = Ed25519).
The key's name is the log's origin; the key belongs to the named system ``SIGNER``.

Keys live in ``{data_dir}/keys/log-signer.json`` (0600 in a 0700 folder, ``backend.files``), made on
first use. Rotation adds a new signing key and keeps only the *public* half of the old ones, so old
checkpoints still verify and nobody can sign with a retired key.

A new checkpoint is signed only if the log still contains the previous one: the stored root at the
previous size must be recomputed unchanged, and the log must not have shrunk. A log whose newest
leaves were deleted, or whose history was rewritten, is refused a signature (C2SP: a log MUST NOT
sign two inconsistent checkpoints).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, DomainError, NotFound
from backend.files import write_private, write_private_new
from backend.models import LogCheckpoint
from backend.services.transparency import log
from backend.settings import Settings

SIGNER = "yangguang log signer"  # the named system that holds the log's signing key
KEY_FILE = "log-signer.json"
ED25519 = 0x01  # signed-note signature type
MAX_NOTE_BYTES = 16 * 1024
MAX_SIGNATURES = 100
_SIG_LINE = re.compile(r"— (\S+) ([A-Za-z0-9+/]+={0,2})")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_log = logging.getLogger("yangguang.transparency")


class LogRolledBack(Conflict):
    code = "log_rolled_back"
    message = "日志比最近一次签名的检查点短：已签名的条目被删除，拒绝签名"


class LogForked(Conflict):
    code = "log_forked"
    message = "日志与最近一次签名的检查点不一致：历史被改写，拒绝签名"


class LogKeyError(DomainError):
    status = 500
    code = "log_key_unreadable"
    message = "日志签名密钥文件无法读取或格式错误"


class NoteError(ValueError):
    """A checkpoint text that is malformed or not signed by one of our keys (message in Chinese)."""


# --- keys ------------------------------------------------------------------------------------------


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes  # 32 bytes

    @property
    def key_id(self) -> bytes:
        return key_hash(self.name, self.public)

    @property
    def vkey(self) -> str:
        """The signed-note verifier key text: ``<name>+<hex key hash>+<base64(0x01 ‖ public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey(VerifierKey):
    private: bytes  # 32-byte Ed25519 seed

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.private).sign(message)


def _new_key(name: str) -> SignerKey:
    private = Ed25519PrivateKey.generate()
    return SignerKey(name, private.public_key().public_bytes_raw(), private.private_bytes_raw())


class LogKeys:
    """The signing key and every public key the log ever used (``{data_dir}/keys/log-signer.json``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "keys" / KEY_FILE

    def _encode(self, current: SignerKey, retired: list[VerifierKey]) -> bytes:
        b64 = base64.b64encode
        keys = [{"name": k.name, "public": b64(k.public).decode()} for k in retired]
        keys.append({"name": current.name, "public": b64(current.public).decode(),
                     "private": b64(current.private).decode()})
        return json.dumps({"holder": SIGNER, "current": current.key_id.hex(), "keys": keys}, indent=1).encode()

    def _read(self) -> tuple[SignerKey, list[VerifierKey]]:
        try:
            data = json.loads(self.path.read_bytes())
            current: SignerKey | None = None
            retired = []
            for k in data["keys"]:
                public = base64.b64decode(k["public"], validate=True)
                if "private" in k:
                    current = SignerKey(k["name"], public, base64.b64decode(k["private"], validate=True))
                else:
                    retired.append(VerifierKey(k["name"], public))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LogKeyError(f"日志签名密钥文件 {self.path} 无法读取或格式错误") from exc
        if current is None or current.key_id.hex() != data.get("current"):
            raise LogKeyError(f"日志签名密钥文件 {self.path} 格式错误")
        return current, retired

    def signer(self, origin: str) -> SignerKey:
        """The current signing key, created (named ``origin``) on first use."""
        if not self.path.exists():
            write_private_new(self.path, self._encode(_new_key(origin), []))  # loses a race harmlessly
        return self._read()[0]

    def verifiers(self) -> list[VerifierKey]:
        """Every key, current and retired, as public keys; none before the first checkpoint."""
        if not self.path.exists():
            return []
        current, retired = self._read()
        return [*retired, VerifierKey(current.name, current.public)]

    def rotate(self, origin: str) -> SignerKey:
        """A new signing key named ``origin``; the old ones stay as public keys only."""
        current, retired = self._read() if self.path.exists() else (self.signer(origin), [])
        new = _new_key(origin)
        write_private(self.path, self._encode(new, [*retired, VerifierKey(current.name, current.public)]))
        return new


# --- notes -----------------------------------------------------------------------------------------


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(body: str, key: SignerKey) -> tuple[str, str]:
    """The signed note and its signature field (base64 of key hash ‖ signature)."""
    payload = base64.b64encode(key.key_id + key.sign(body.encode())).decode()
    return f"{body}\n— {key.name} {payload}\n", payload


@dataclass(frozen=True)
class OpenedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    key: VerifierKey  # the key whose signature verified


def open_checkpoint(text: str | bytes, keys: list[VerifierKey]) -> OpenedCheckpoint:
    """Parse a checkpoint as served by ``/log/checkpoint`` and check it carries a valid signature of
    one of ``keys``. NoteError (Chinese message) when malformed or not signed by any of them."""
    if isinstance(text, bytes):
        if len(text) > MAX_NOTE_BYTES:
            raise NoteError("检查点文件过大")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("检查点不是 UTF-8 文本") from exc
    if len(text) > MAX_NOTE_BYTES:
        raise NoteError("检查点文件过大")
    if any(ch != "\n" and (ord(ch) < 0x20 or ord(ch) == 0x7F) for ch in text):
        raise NoteError("检查点含有控制字符")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("检查点格式错误：缺少签名部分")
    body, sig_lines = text[: split + 1], text[split + 2:].split("\n")[:-1]
    if not sig_lines or len(sig_lines) > MAX_SIGNATURES:
        raise NoteError("检查点格式错误：签名行数不正确")
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or not lines[0] or not _SIZE.fullmatch(lines[1]):
        raise NoteError("检查点格式错误：应为来源、树大小、根哈希三行")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise NoteError("检查点格式错误：根哈希不是 base64") from exc
    if len(root) != 32:
        raise NoteError("检查点格式错误：根哈希长度不是 32 字节")
    by_id = {(k.name, k.key_id): k for k in keys}
    for line in sig_lines:
        m = _SIG_LINE.fullmatch(line)
        if m is None:
            raise NoteError("检查点格式错误：签名行不合规范")
        try:
            raw = base64.b64decode(m.group(2), validate=True)
        except binascii.Error as exc:
            raise NoteError("检查点格式错误：签名不是 base64") from exc
        key = by_id.get((m.group(1), raw[:4]))
        if key is not None and len(raw) == 4 + 64 and key.verify(body.encode(), raw[4:]):
            return OpenedCheckpoint(lines[0], int(lines[1]), root, key)
    raise NoteError("检查点没有本日志任何密钥的有效签名")


# --- making checkpoints ----------------------------------------------------------------------------


async def latest() -> LogCheckpoint | None:
    return await LogCheckpoint.all().order_by("-tree_size", "-id").first()


async def latest_or_404() -> LogCheckpoint:
    row = await latest()
    if row is None:
        raise NotFound("日志尚无检查点（有条目后一分钟内生成）", code="no_checkpoint")
    return row


async def make_checkpoint(settings: Settings, clock: Clock) -> LogCheckpoint:
    """Sign the log as it stands (committed leaves only) and store the checkpoint; when nothing was
    appended since the latest checkpoint, return that one. Call it *after* the transaction that
    appended commits: a checkpoint inside a transaction could sign leaves that are then rolled back.

    Raises LogRolledBack / LogForked (409) instead of signing a log inconsistent with the latest
    checkpoint."""
    if isinstance(connections.get("default"), TransactionalDBClient):
        raise RuntimeError("make_checkpoint() must run after the appending transaction committed")
    async with in_transaction("default") as tx:
        if tx.capabilities.dialect == "postgres":
            await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [log.CHECKPOINT_LOCK])
        size = await log.tree_size(tx)
        previous = await LogCheckpoint.all().using_db(tx).order_by("-tree_size", "-id").first()
        if previous is not None:
            if previous.tree_size == size:
                return previous
            if previous.tree_size > size:
                raise LogRolledBack()
            try:
                still = (await log.root_at(previous.tree_size, tx, cached=False)).hex()
            except log.LogDamaged as exc:
                raise LogForked() from exc
            if still != previous.root_hash:
                raise LogForked()
        root = await log.root_at(size, tx, cached=False)  # what is signed is what the database holds
        key = LogKeys(settings.data_dir).signer(settings.log_origin)
        note, signature = sign_note(checkpoint_body(settings.log_origin, size, root), key)
        return await LogCheckpoint.create(
            using_db=tx, tree_size=size, root_hash=root.hex(), timestamp=clock.now(), key_name=key.name,
            key_id=key.key_id.hex(), signer=SIGNER, signature=signature, note=note)


async def checkpoint_after_commit(settings: Settings, clock: Clock) -> LogCheckpoint | None:
    """Sign a checkpoint right after a committed change (a decision event), best effort: the change
    is already committed, so its caller must hear success even when signing fails now (the database
    went away a moment after the commit, or the log is refused a signature). The periodic job
    ``log_checkpoint`` signs within half a minute; a refused log is an ERROR line, never silent."""
    try:
        return await make_checkpoint(settings, clock)
    except (LogRolledBack, LogForked) as exc:
        _log.error("checkpoint refused after a committed change: %s (%s)", exc.code, exc.message)
    except Exception as exc:  # committed already; the periodic job signs later
        _log.warning("checkpoint after a committed change failed (%s); the periodic job signs it",
                     type(exc).__name__)
    return None


async def checkpoint_if_grown(settings: Settings, clock: Clock) -> int | None:
    """The periodic job: a new checkpoint when leaves arrived since the latest one; its size, or None."""
    size = await log.tree_size()
    previous = await latest()
    if size == 0 or (previous is not None and previous.tree_size == size):
        return None  # a shorter log than the latest checkpoint is refused loudly by make_checkpoint
    return (await make_checkpoint(settings, clock)).tree_size
