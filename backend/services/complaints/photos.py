"""A complainant's photos: checked, decoded and re-encoded off the event loop, stored without metadata.

What arrives from a phone is untrusted. Before decoding: at most ``MAX_BYTES``, the type told by
its first bytes (JPEG, PNG, HEIC/HEIF; never the declared Content-Type), and its structure walked
to its end marker -- a truncated file, or bytes after the image's end (a polyglot: a ZIP, an HTML
page, a script or a motion photo's video appended to a picture) are refused, and so is markup
anywhere in it. Then the dimensions are read from the header and a picture above ``MAX_PIXELS`` or
``MAX_SIDE`` (a decompression bomb) is refused before a pixel is decoded. The decode runs in a
small pool of low-priority worker processes, so scans never wait behind a photo. What is stored is a
fresh JPEG of the pixels (at most ``STORED_SIDE`` on its long side, turned upright by its EXIF
orientation first): no EXIF, no GPS, no comments survive, because none are copied.

An upload no complaint claimed within ``UPLOAD_TTL`` can never be claimed; ``delete_unclaimed``
(the ``delete_unclaimed_uploads`` periodic job) deletes its row and, when no other row names the
same picture, its file. Files are content-addressed and shared, so a file is first moved aside and
the rows counted again: an upload of the same picture arriving meanwhile keeps it (``receive``
writes the file again if it went missing after its row was created).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import multiprocessing
import os
import threading
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from backend import atomic
from backend.clock import Clock
from backend.errors import NotFound, ValidationFailed
from backend.files import write_private
from backend.models import ComplaintUpload

MAX_BYTES = 10 * 1024 * 1024  # a phone camera's HEIC or JPEG is 2-8 MiB
MAX_PIXELS = 50_000_000  # 48-megapixel phone cameras fit; a bomb's 100k x 100k does not
MAX_SIDE = 12_000
STORED_SIDE = 2048
FOLDER = "complaint-photos"
UPLOAD_TTL = timedelta(days=1)  # an upload no complaint named within a day is not accepted any more
WORKERS = 2  # decode processes: the machine's cores, never the event loop's

FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "HEIF": "HEIF"}
# Markup a picture has no business carrying: the start of a browser- or server-side polyglot.
_MARKUP = (b"<script", b"<html", b"<?php", b"<iframe", b"<svg", b"<!doctype", b"<body", b"<object",
           b"<embed", b"javascript:")


def claim(upload_ids: list[uuid.UUID], complaint_id: uuid.UUID, now: datetime, dialect: str
          ) -> atomic.Program[dict[uuid.UUID, str]]:
    """Give the uploads to ``complaint_id`` if every one is known, fresh and unclaimed: {id: sha256}
    of those it took (the caller refuses the filing, rolling the claim back, unless it took them all).
    One statement (``UPDATE … RETURNING``, SQLite ≥ 3.35 and PostgreSQL), a step of the intake's
    program (``backend.atomic``)."""
    if not upload_ids:
        return {}
    fresh = ComplaintUpload._meta.fields_map["uploaded_at"].to_db_value(now - UPLOAD_TTL, ComplaintUpload)
    if dialect == "postgres":
        # In a WITH: tortoise's asyncpg client drops the rows of a statement that starts with UPDATE.
        sql = ("WITH claimed AS (UPDATE complaint_upload SET complaint_id = $1 WHERE id = ANY($2::uuid[]) "
               "AND complaint_id IS NULL AND uploaded_at > $3 RETURNING id, sha256) SELECT id, sha256 FROM claimed")
        values: list[Any] = [complaint_id, upload_ids, fresh]
    else:
        marks = ", ".join("?" * len(upload_ids))
        # ``+complaint_id``: without statistics SQLite would search the complaint_id index for the
        # NULLs, every unclaimed upload (milliseconds with 20,000 of them), instead of the 9 keys; the
        # unary plus keeps that term off any index (https://sqlite.org/optoverview.html#uplus).
        sql = (f"UPDATE complaint_upload SET complaint_id = ? WHERE id IN ({marks}) AND +complaint_id IS NULL "
               f"AND +uploaded_at > ? RETURNING id, sha256")
        values = [str(complaint_id), *(str(i) for i in upload_ids), fresh]
    rows = yield sql, values
    return {r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]): r[1] for r in rows}


class PhotoTooLarge(ValidationFailed):
    status = 413
    code = "photo_too_large"
    message = "照片不能超过 10 MiB"


class PhotoDimensions(ValidationFailed):
    code = "photo_dimensions"
    message = "照片像素过多（不超过 5000 万像素，每边不超过 12000 像素）"


class PhotoFormat(ValidationFailed):
    status = 415
    code = "photo_format"
    message = "照片只能是 JPEG、PNG 或 HEIC 格式"


class PhotoInvalid(ValidationFailed):
    code = "photo_invalid"
    message = "照片文件已损坏或不完整，无法识别"


class PhotoPolyglot(ValidationFailed):
    code = "photo_polyglot"
    message = "照片文件中夹带了图片以外的数据（如网页、脚本、压缩包或动态照片的视频），请上传普通照片"


@dataclass(frozen=True)
class Clean:
    data: bytes  # the re-encoded JPEG
    sha256: str
    width: int
    height: int
    source_format: str


def sniff(data: bytes) -> str:
    """The format told by the file's first bytes; PhotoFormat for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                                               b"msf1"):
        return "HEIF"
    raise PhotoFormat()


Regions = list[tuple[int, int]]  # byte ranges of metadata (not pixel data), scanned for markup


def _jpeg_end(data: bytes) -> tuple[int, Regions]:
    """The offset just past the JPEG's end-of-image marker, walking its segments."""
    pos, n, meta = 2, len(data), Regions()
    while True:
        if pos + 2 > n or data[pos] != 0xFF:
            raise PhotoInvalid()
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, meta
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if pos + 4 > n or length < 2 or pos + 2 + length > n:
            raise PhotoInvalid()
        meta.append((pos + 4, pos + 2 + length))
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    raise PhotoInvalid()
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break


def _png_end(data: bytes) -> tuple[int, Regions]:
    pos, n, meta = 8, len(data), Regions()
    while True:
        if pos + 12 > n:
            raise PhotoInvalid()
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind != b"IDAT":
            meta.append((pos + 8, pos + 8 + length))
        pos += 12 + length
        if pos > n:
            raise PhotoInvalid()
        if kind == b"IEND":
            return pos, meta


def _isobmff_end(data: bytes) -> tuple[int, Regions]:
    """HEIF is ISO base media: top-level boxes that must tile the file exactly."""
    pos, n, meta, pixels = 0, len(data), Regions(), False
    while pos < n:
        if pos + 8 > n:
            if pixels:  # bytes after the picture's boxes: appended, not a box
                return pos, meta
            raise PhotoInvalid()
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > n:
                raise PhotoInvalid()
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:  # the last box runs to the end of the file
            size = n - pos
        if size < header or pos + size > n:
            if pixels:
                return pos, meta
            raise PhotoInvalid()
        if kind == b"mdat":
            pixels = True
        else:
            meta.append((pos + header, pos + size))
        pos += size
    return pos, meta


def check_structure(data: bytes, fmt: str) -> None:
    """Truncated → PhotoInvalid; anything after the image's end but zero padding, or markup in its
    metadata (where a polyglot hides its page or script) → PhotoPolyglot. Pixel data is not scanned:
    compressed bytes match a short pattern by chance."""
    end, meta = {"JPEG": _jpeg_end, "PNG": _png_end, "HEIF": _isobmff_end}[fmt](data)
    if data[end:].strip(b"\x00"):
        raise PhotoPolyglot()
    head = data[:1024].lower()  # a browser sniffing the file reads its first bytes
    if any(mark in head for mark in _MARKUP):
        raise PhotoPolyglot()
    for start, stop in meta:
        region = data[start:stop].lower()
        if any(mark in region for mark in _MARKUP):
            raise PhotoPolyglot()


_heif_ready = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
    # pillow-heif's opener is registered on first use, not at import time.
    global _heif_registered
    with _heif_ready:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener(thumbnails=False)
            _heif_registered = True


def clean(data: bytes) -> Clean:
    """The upload as a clean JPEG, or a ValidationFailed with a stable code. CPU-bound: run it in
    the photo pool (``process``), never on the event loop."""
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge()
    fmt = sniff(data)
    check_structure(data, fmt)
    if fmt == "HEIF":
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = img.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise PhotoDimensions()
            if fmt == "JPEG":  # decode at a reduced scale when the stored size allows it (less memory)
                img.draft("RGB", (STORED_SIDE, STORED_SIDE))
            img.load()
            upright = ImageOps.exif_transpose(img)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoDimensions() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, RuntimeError) as exc:
        raise PhotoInvalid() from exc
    pixels = upright.convert("RGB")  # a new image: no EXIF, GPS, ICC, XMP or comments come along
    pixels.thumbnail((STORED_SIDE, STORED_SIDE))
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=85, optimize=True)
    stored = out.getvalue()
    return Clean(stored, hashlib.sha256(stored).hexdigest(), pixels.width, pixels.height, FORMATS[fmt])


PHOTO_NICE = 19  # the decode processes' niceness where SCHED_IDLE is unavailable


def yield_to_requests() -> None:
    """Run in each decode process: the serving process (and everything else) gets the CPU first, so
    a burst of photos slows photos, not scans. SCHED_IDLE (Linux) rather than only nice 19: a waking
    task of normal policy preempts an idle-policy task at once, and the kernel places the serving
    process's wake-ups on a CPU running only idle-policy tasks as if that CPU were free."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, PHOTO_NICE)
    except (AttributeError, OSError):
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


class PhotoPool:
    """The decode processes, started on first use; bounded so a burst of uploads queues here.

    Processes, not threads: a decode thread shares the serving process's GIL, and at low priority
    it can be descheduled while holding it, stalling every request behind it (measured: scan p99
    x3.9 while photos were decoded by niced threads). A separate process at the lowest priority
    shares nothing but the CPU, which the scheduler gives the scans first. ``spawn``: a fork of a
    process running an event loop and database threads would inherit their held locks."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, data: bytes) -> Clean:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=yield_to_requests)
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, clean, data)
        except BrokenProcessPool:
            # A decode process died (killed, out of memory): this photo is refused and the next starts
            # a fresh pool. Only the broken pool is dropped: another photo's caller may have started
            # the fresh one already.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise PhotoInvalid() from None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


POOL = PhotoPool()


def stored_path(data_dir: Path, sha256: str) -> Path:
    return Path(data_dir) / FOLDER / sha256[:2] / f"{sha256}.jpg"


async def receive(data: bytes, *, data_dir: Path, clock: Clock, pool: PhotoPool = POOL) -> ComplaintUpload:
    """Clean and store one photo; its row's id is the opaque upload id a complaint names."""
    photo = await pool.run(data)
    path = stored_path(data_dir, photo.sha256)
    if not path.exists():  # content-addressed: the same picture twice is one file
        await asyncio.to_thread(write_private, path, photo.data)
    row = await ComplaintUpload.create(sha256=photo.sha256, size_bytes=len(photo.data), width=photo.width,
                                       height=photo.height, source_format=photo.source_format,
                                       uploaded_at=clock.now())
    if not path.exists():  # the clean-up removed the shared file before this row existed
        await asyncio.to_thread(write_private, path, photo.data)
    return row


CLEANUP_BATCH = 500


async def delete_unclaimed(data_dir: Path, clock: Clock) -> int:
    """Delete uploads no complaint claimed within ``UPLOAD_TTL`` (they can no longer be claimed: the
    claim and this delete are each one guarded statement on the row), and their files when no other
    upload names the same picture. Returns the number of rows deleted."""
    cutoff, deleted = clock.now() - UPLOAD_TTL, 0
    while True:
        stale = await ComplaintUpload.filter(complaint_id=None, uploaded_at__lte=cutoff) \
            .limit(CLEANUP_BATCH).values_list("id", "sha256")
        if not stale:
            return deleted
        ids = [i for i, _ in stale]
        deleted += await ComplaintUpload.filter(id__in=ids, complaint_id=None, uploaded_at__lte=cutoff).delete()
        digests = {d for _, d in stale}
        named = set(await ComplaintUpload.filter(sha256__in=digests).values_list("sha256", flat=True))
        for digest in digests - named:
            await _remove_file(stored_path(data_dir, digest))
        if len(stale) < CLEANUP_BATCH:
            return deleted


async def _remove_file(path: Path) -> None:
    aside = path.with_name(path.name + ".deleting")
    try:
        await asyncio.to_thread(path.replace, aside)
    except FileNotFoundError:
        return
    if await ComplaintUpload.filter(sha256=path.stem).exists() and not await asyncio.to_thread(path.exists):
        await asyncio.to_thread(aside.replace, path)  # an upload of the same picture arrived meanwhile
    else:
        await asyncio.to_thread(aside.unlink, missing_ok=True)


def upload_not_found() -> NotFound:
    return NotFound("未找到该照片", code="upload_not_found")


async def photo_file(data_dir: Path, complaint_id: uuid.UUID, upload_id: uuid.UUID) -> Path:
    """A complaint's stored photo, for those who may see the complaint."""
    row = await ComplaintUpload.filter(id=upload_id, complaint_id=complaint_id).first()
    if row is None:
        raise upload_not_found()
    path = stored_path(data_dir, row.sha256)
    if not path.is_file():
        raise upload_not_found()
    return path
