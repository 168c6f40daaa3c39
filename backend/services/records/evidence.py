"""Evidence files (R-R2): audio/video, photos and documents of a case, streamed to the data folder,
stored once per content under their SHA-256, numbered like the case's documents, and read back
only after their bytes are checked against the row.

Storing is two steps so that an upload's form fields may come before or after its file:
``receive`` streams the chunks into a private temporary file in the data folder (hashing as it
writes, the type sniffed from the first bytes, the size limit enforced as the bytes arrive) and
``register`` checks the fields, moves the file to ``<data_dir>/evidence/<sha[:2]>/<sha>`` and
writes the numbered row; ``discard`` removes the temporary file of a refused upload. ``add``
does all three for a caller that has the fields first.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import filetype
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, DomainError, NotFound, ValidationFailed
from backend.files import FILE_MODE, private_dir
from backend.models import Case, Evidence, Officer
from backend.models.enums import EvidenceKind, LeafKind
from backend.services import audit
from backend.services.records.entries import FUTURE_SLACK
from backend.services.scope import visible_one
from backend.services.transparency import log as tlog

log = logging.getLogger("yangguang.evidence")

# The word in an evidence number: 2026-3F2A91C0-音像-001.
NUMBER_WORD = {EvidenceKind.AUDIO_VIDEO: "音像", EvidenceKind.PHOTO: "照片", EvidenceKind.DOCUMENT: "书证"}

# What each kind accepts, as sniffed from the content (filetype's MIME types).
ACCEPTED: dict[EvidenceKind, frozenset[str]] = {
    EvidenceKind.AUDIO_VIDEO: frozenset({
        "video/mp4", "video/quicktime", "video/3gpp", "video/webm", "video/x-matroska", "video/x-msvideo",
        "video/mpeg", "video/x-m4v", "video/x-flv", "video/x-ms-wmv",
        "audio/mpeg", "audio/mp4", "audio/aac", "audio/x-wav", "audio/amr", "audio/ogg", "audio/x-flac",
        "audio/x-aiff", "audio/webm"}),
    EvidenceKind.PHOTO: frozenset({"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"}),
    # Documents are PDFs, or photos and scans of paper documents.
    EvidenceKind.DOCUMENT: frozenset({"application/pdf", "image/jpeg", "image/png"}),
}
# File name extension in Content-Disposition, by stored type.
EXTENSIONS = {"video/mp4": "mp4", "video/quicktime": "mov", "video/3gpp": "3gp", "video/webm": "webm",
              "video/x-matroska": "mkv", "video/x-msvideo": "avi", "video/mpeg": "mpg", "video/x-m4v": "m4v",
              "video/x-flv": "flv", "video/x-ms-wmv": "wmv", "audio/mpeg": "mp3", "audio/mp4": "m4a",
              "audio/aac": "aac", "audio/x-wav": "wav", "audio/amr": "amr", "audio/ogg": "ogg",
              "audio/x-flac": "flac", "audio/x-aiff": "aiff", "audio/webm": "weba", "image/jpeg": "jpg",
              "image/png": "png", "image/heic": "heic", "image/heif": "heif", "image/webp": "webp",
              "application/pdf": "pdf"}
# Every type a stored file can have, so served (for the OpenAPI description).
SERVED_TYPES = tuple(sorted(set().union(*ACCEPTED.values())))
SNIFF_BYTES = 8192  # filetype looks at most this far
WRITE_BATCH = 1024 * 1024  # bytes gathered before one write in a worker thread
_3GP_BRANDS = (b"3gp", b"3g2")


class EvidenceTooLarge(DomainError):
    status = 413
    code = "evidence_too_large"
    message = "证据文件超过大小上限"


class EvidenceTypeUnknown(DomainError):
    status = 415
    code = "evidence_type_unknown"
    message = "无法识别证据文件的类型（支持常见音视频、JPEG、PNG、HEIC、WebP 照片和 PDF 文件）"


class EvidenceTypeMismatch(ValidationFailed):
    code = "evidence_type_mismatch"
    message = "证据文件的实际类型与所选证据种类不符"


class EvidenceFileDamaged(Conflict):
    code = "evidence_file_damaged"
    message = "证据文件缺失或已损坏（与登记的哈希值不符），已记录，请联系管理员"


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes say, or None when they say nothing we know."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    # filetype reports every ISO base media file as mp4; a 3GPP brand is a phone's 3gp video.
    if mime == "video/mp4" and head[8:11] in _3GP_BRANDS:
        return "video/3gpp"
    return mime


def check_kind(kind: EvidenceKind, content_type: str) -> None:
    if content_type not in ACCEPTED[kind]:
        raise EvidenceTypeMismatch(f"文件内容为 {content_type}，不能作为“{NUMBER_WORD[kind]}”证据上传",
                                   details=[{"content_type": content_type, "kind": kind.value}])


def evidence_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "evidence"


def stored_path(data_dir: Path, sha256: str) -> Path:
    return evidence_dir(data_dir) / sha256[:2] / sha256


@dataclass
class Received:
    """A file streamed to a temporary place, not yet evidence."""

    temp: Path
    sha256: str
    size: int
    content_type: str


def _open_temp(data_dir: Path) -> tuple[Path, BinaryIO]:
    folder = private_dir(evidence_dir(data_dir) / "tmp")
    path = folder / f"{secrets.token_hex(16)}.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return path, os.fdopen(fd, "wb")


def _finish(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


async def receive(chunks: AsyncIterator[bytes], data_dir: Path, max_bytes: int,
                  kind: EvidenceKind | None = None) -> Received:
    """Stream ``chunks`` to a private temporary file, hashing as it goes; never the whole file in memory.

    The type comes from the first bytes: unknown is refused (and, when ``kind`` is known already, a
    type that does not fit it) before anything is written. Past ``max_bytes`` the upload stops at
    once. On any refusal or error the temporary file is removed."""
    head = bytearray()
    async for chunk in chunks:  # gather the bytes the sniffer needs
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    if not head:
        raise ValidationFailed("证据文件为空", code="evidence_empty")
    if len(head) > max_bytes:
        raise EvidenceTooLarge(details=[{"max_bytes": str(max_bytes)}])
    content_type = sniff(bytes(head[:SNIFF_BYTES]))
    if content_type is None:
        raise EvidenceTypeUnknown()
    if kind is not None:
        check_kind(kind, content_type)
    digest = hashlib.sha256()
    size = len(head)
    temp, fh = await asyncio.to_thread(_open_temp, data_dir)
    try:
        pending = head
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:  # stop reading at once: the rest is never received
                raise EvidenceTooLarge(details=[{"max_bytes": str(max_bytes)}])
            pending += chunk
            if len(pending) >= WRITE_BATCH:
                block, pending = bytes(pending), bytearray()
                digest.update(block)
                await asyncio.to_thread(fh.write, block)
        if pending:
            digest.update(pending)
            await asyncio.to_thread(fh.write, bytes(pending))
        await asyncio.to_thread(_finish, fh)
    except BaseException:
        fh.close()
        temp.unlink(missing_ok=True)
        raise
    return Received(temp, digest.hexdigest(), size, content_type)
    return Received(temp, digest.hexdigest(), size, content_type)


def discard(received: Received | None) -> None:
    """Remove the temporary file of an upload that was refused (harmless if already moved)."""
    if received is not None:
        received.temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class EvidenceInput:
    kind: EvidenceKind
    captured_at: datetime
    place: str
    collector_officer_id: uuid.UUID | None
    proves: str


def _move_into_place(received: Received, data_dir: Path) -> None:
    """Content-addressed: identical content is stored once. A stored copy that no longer matches its
    hash (damaged) is replaced by the fresh one; a good one is kept and the temporary file dropped."""
    target = stored_path(data_dir, received.sha256)
    private_dir(target.parent)
    if _check_file(target, received.sha256, received.size) is None:
        received.temp.unlink(missing_ok=True)
        return
    os.replace(received.temp, target)
    os.chmod(target, FILE_MODE)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a crash
    finally:
        os.close(fd)


async def register(case: Case, data: EvidenceInput, received: Received, actor: str, clock: Clock,
                   data_dir: Path) -> Evidence:
    """Check the fields, store the file under its hash and write the numbered row. The temporary file
    is gone afterwards whatever happens (moved, or removed on a refusal)."""
    try:
        check_kind(data.kind, received.content_type)
        if data.captured_at > clock.now() + FUTURE_SLACK:
            raise ValidationFailed("证据的采集时间不能晚于当前时间", code="captured_in_future")
        if data.collector_officer_id is not None and not await Officer.filter(
                id=data.collector_officer_id, agency_id=case.agency_id).exists():
            raise ValidationFailed("采集人不是本机构的执法人员", code="officer_not_found",
                                   details=[{"officer_id": str(data.collector_officer_id)}])
        await asyncio.to_thread(_move_into_place, received, data_dir)
    except BaseException:
        discard(received)
        raise
    name, role = audit.who(actor)
    async with in_transaction():
        locked = await Case.filter(id=case.id).select_for_update().get()  # one number at a time per case
        last = await Evidence.filter(case_id=case.id, kind=data.kind).order_by("-seq").first().values("seq")
        seq = (last["seq"] + 1) if last else 1
        row = Evidence(
            case_id=case.id, number=f"{locked.number}-{NUMBER_WORD[data.kind]}-{seq:03d}", kind=data.kind, seq=seq,
            captured_at=data.captured_at, place=data.place, collector_officer_id=data.collector_officer_id,
            proves=data.proves, content_type=received.content_type, sha256=received.sha256,
            size_bytes=received.size, actor=actor, actor_name=name, actor_role=role)
        # Everything of its leaf is known here (``leaf_content``): the leaf is appended first and its
        # index stored with the row, which is then never updated.
        await tlog.append_row(row, LeafKind.EVIDENCE, leaf_content(row, case.agency_id), agency_id=case.agency_id,
                              ref=str(row.id), clock=clock)
        await audit.record(actor, "case.evidence", "case", case.id, agency_id=case.agency_id,
                           data={"evidence_id": str(row.id), "number": row.number, "sha256": row.sha256,
                                 "size": row.size_bytes})
    return row


async def add(case: Case, data: EvidenceInput, chunks: AsyncIterator[bytes], actor: str, clock: Clock, *,
              data_dir: Path, max_bytes: int) -> Evidence:
    """Receive and register in one go, for a caller that knows the fields before the bytes."""
    received = await receive(chunks, data_dir, max_bytes, data.kind)
    return await register(case, data, received, actor, clock, data_dir)


async def listing(case_id: uuid.UUID) -> list[Evidence]:
    return await Evidence.filter(case_id=case_id).order_by("kind", "seq")


async def get(scope: uuid.UUID | None, evidence_id: uuid.UUID) -> tuple[Evidence, Case]:
    """The evidence and its case, if the caller's agency may see it (the supervisor sees all); else 404."""
    evidence = await visible_one(Evidence.filter(id=evidence_id), scope,
                                 NotFound("未找到该证据", code="evidence_not_found"), field="case__agency_id")
    return evidence, await Case.get(id=evidence.case_id)


# Files whose bytes matched their row, by where they are and what the file system says of them
# (inode, size, mtime and ctime: any write changes ctime, which no program can set back). A large
# video is hashed once per process and again only after something touched it.
_VERIFIED: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
_VERIFIED_MAX = 4096


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(WRITE_BATCH):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, sha256: str, size: int) -> str | None:
    """None if the file is what the row says; else why not (for the log)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    if st.st_size != size:
        return "size differs"
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if _VERIFIED.get(key) == sha256:
        _VERIFIED.move_to_end(key)
        return None
    if _sha256_file(path) != sha256:
        return "hash differs"
    _VERIFIED[key] = sha256
    while len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return None


async def verified_path(evidence: Evidence, data_dir: Path) -> Path:
    """The stored file, after checking its size (every read) and its SHA-256 (when first read by this
    process, and after any change on disk). Missing or damaged: 409 ``evidence_file_damaged`` and an
    ERROR line naming the evidence id and the reason, nothing personal."""
    path = stored_path(data_dir, evidence.sha256)
    problem = await asyncio.to_thread(_check_file, path, evidence.sha256, evidence.size_bytes)
    if problem is not None:
        log.error("evidence file damaged (%s): evidence %s", problem, evidence.id,
                  extra={"case_id": str(evidence.case_id)})
        raise EvidenceFileDamaged()
    return path


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def leaf_content(evidence: Evidence, agency_id: uuid.UUID) -> dict[str, Any]:
    """What the transparency log commits to for an evidence file: every field it is written with,
    the file's SHA-256 and size included, datetimes in UTC. Known before the row is written (the id
    is a random UUID made in Python; ``created_at`` is the database's and the leaf carries the time),
    so the leaf can be appended first and the row store its ``leaf_index``."""
    e = evidence
    return {"type": "evidence", "id": str(e.id), "agency_id": str(agency_id), "case_id": str(e.case_id),
            "number": e.number, "kind": e.kind.value, "seq": e.seq, "captured_at": _utc(e.captured_at),
            "place": e.place, "collector_officer_id": str(e.collector_officer_id) if e.collector_officer_id else None,
            "proves": e.proves, "content_type": e.content_type, "sha256": e.sha256, "size": e.size_bytes,
            "actor": e.actor, "actor_name": e.actor_name, "actor_role": e.actor_role}
