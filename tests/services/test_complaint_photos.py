"""A complainant's photo is decoded and re-encoded (R-X1): JPEG, PNG and HEIC in, a clean JPEG out with no
EXIF or GPS; photo bombs -- huge dimensions, truncated files, polyglots -- refused with stable codes."""

from __future__ import annotations

import asyncio
import io
import os
import signal

import pytest
from PIL import Image

from backend.errors import ValidationFailed
from backend.services.complaints import photos
from tests.support import images


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("make,fmt", [(images.jpeg, "JPEG"), (images.png, "PNG"), (images.heic, "HEIF")])
def test_each_accepted_format_comes_out_a_fresh_jpeg(make, fmt):  # type: ignore[no-untyped-def]
    result = photos.clean(make())
    out = opened(result.data)
    assert out.format == "JPEG" and result.source_format == fmt and out.mode == "RGB"
    assert (out.width, out.height) == (result.width, result.height)


def test_exif_and_gps_are_gone_and_the_picture_is_turned_upright():
    original = images.jpeg((40, 20), gps=True, orientation=6)
    assert b"PhoneMaker" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    result = photos.clean(original)
    out = opened(result.data)
    assert not out.getexif() and "exif" not in out.info and b"PhoneMaker" not in result.data
    assert (out.width, out.height) == (20, 40)  # orientation 6: rotated a quarter turn


def test_large_pictures_are_stored_at_most_2048_on_their_long_side():
    result = photos.clean(images.jpeg((4000, 3000)))
    assert (result.width, result.height) == (2048, 1536)


@pytest.mark.parametrize("data,code", [
    (images.png_claiming(60_000, 60_000), "photo_dimensions"),  # 3.6 gigapixels in a few hundred bytes
    (images.jpeg_claiming(65_000, 65_000), "photo_dimensions"),
    (images.png_claiming(20_000, 100), "photo_dimensions"),  # one side too long
    (images.jpeg((64, 48))[:-300], "photo_invalid"),  # truncated
    (images.png()[:-20], "photo_invalid"),
    (images.heic()[:-40], "photo_invalid"),
    (images.jpeg() + images.zip_bytes(), "photo_polyglot"),  # a ZIP appended (GIFAR-style)
    (images.png() + b"<html><script>alert(1)</script></html>", "photo_polyglot"),
    (images.jpeg(comment=b"<script>alert(document.cookie)</script>"), "photo_polyglot"),
    (images.heic() + b"PK\x03\x04trailing", "photo_polyglot"),
    (b"%PDF-1.7\n" + b"0" * 100, "photo_format"),
    (b"GIF89a" + b"\x00" * 100, "photo_format"),
    (b"", "photo_format"),
    (b"\xff\xd8\xff" + b"\x00" * (photos.MAX_BYTES), "photo_too_large"),
], ids=["huge-png", "huge-jpeg", "long-side", "truncated-jpeg", "truncated-png", "truncated-heic", "jpeg+zip",
        "png+html", "jpeg-comment-script", "heic+trailing", "pdf", "gif", "empty", "too-many-bytes"])
def test_photo_bombs_are_refused_with_a_stable_code(data, code):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        photos.clean(data)
    assert exc.value.code == code
    assert 400 <= exc.value.status < 500


def test_zero_padding_after_the_end_is_not_a_polyglot():
    assert photos.clean(images.jpeg() + b"\x00" * 64).source_format == "JPEG"


async def test_decoding_runs_in_low_priority_processes_not_on_the_event_loop():
    pool = photos.PhotoPool()
    try:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        cleaned = await asyncio.gather(*(pool.run(images.jpeg((3000, 2000))) for _ in range(4)))
        task.cancel()
        assert all(c.source_format == "JPEG" and max(c.width, c.height) == photos.STORED_SIDE for c in cleaned)
        workers = list(pool._pool._processes) if pool._pool is not None else []  # type: ignore[attr-defined]
        # Other processes (no GIL shared with the loop), at the lowest CPU priority.
        assert workers and os.getpid() not in workers
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == photos.PHOTO_NICE for pid in workers)
        assert all(os.sched_getscheduler(pid) == os.SCHED_IDLE for pid in workers)
        # A decode process that dies refuses the photo it held, and the next photo gets a fresh pool.
        os.kill(workers[0], signal.SIGKILL)
        with pytest.raises(photos.PhotoInvalid):
            await asyncio.gather(*(pool.run(images.jpeg((3000, 2000))) for _ in range(2)))
        assert (await pool.run(images.jpeg())).source_format == "JPEG"
        # The codes of refused photos come back from the decode process unchanged.
        with pytest.raises(photos.PhotoPolyglot):
            await pool.run(images.jpeg() + b"<script>alert(1)</script>")
    finally:
        pool.shutdown()
    assert ticks > 10  # the loop kept turning while the pictures were decoded


async def test_the_claim_reads_the_named_uploads_by_key_not_every_unclaimed_one(db):
    """Without statistics SQLite would answer ``complaint_id IS NULL`` from the complaint_id index,
    reading every unclaimed upload on each filing (1.8 ms a complaint with 20,000 of them)."""
    import uuid
    from datetime import datetime

    from tortoise import connections

    from backend.clock import SHANGHAI

    if not db.database_is_sqlite:
        pytest.skip("SQLite's planner (PostgreSQL plans from its statistics)")
    ids = [uuid.uuid4() for _ in range(9)]
    steps = photos.claim(ids, uuid.uuid4(), datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI), "sqlite")
    sql, values = next(steps)
    _, plan = await connections.get("default").execute_query("EXPLAIN QUERY PLAN " + sql, values)
    details = " ".join(str(row[3]) for row in plan)
    assert "sqlite_autoindex_complaint_upload_1 (id=?)" in details, details
    assert "complaint_id" not in details, details
