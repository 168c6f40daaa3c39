"""Officer photos (shown on the H5 verify page and printed on the card).

An upload is decoded and re-encoded with Pillow: only JPEG and PNG are accepted, the bytes and
the pixels are bounded before decoding, and the stored file is a fresh JPEG with no metadata (EXIF,
GPS, comments). It is written 0600 in a 0700 folder under the data folder, whatever the umask.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from tortoise.transactions import in_transaction

from backend.errors import ValidationFailed
from backend.files import write_private
from backend.models import Officer
from backend.services import audit
from backend.services.disclosure.verification import VerifyCache
from backend.services.officers import officer_not_found
from backend.services.scope import visible_one

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # e.g. 5000 × 5000; a decompression bomb is refused before decoding
STORED_SIZE = (600, 800)  # enough for a card at 300 dpi and a phone screen
FOLDER = "photos"


class PhotoTooLarge(ValidationFailed):
    status = 413
    code = "photo_too_large"
    message = "照片不能超过 2 MiB，且不超过 2500 万像素"


def reencode(data: bytes) -> bytes:
    """The upload as a clean JPEG, or ``ValidationFailed`` with a stable code."""
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("JPEG", "PNG"):
                raise ValidationFailed("照片只能是 JPEG 或 PNG 格式", code="photo_format")
            if img.width * img.height > MAX_PIXELS:
                raise PhotoTooLarge()
            img.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ValidationFailed("无法识别的照片文件", code="photo_invalid") from exc
    clean = img.convert("RGB")  # drops alpha and palette; a new image carries no metadata
    clean.thumbnail(STORED_SIZE)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=88)
    return out.getvalue()


async def set_photo(agency_id: uuid.UUID, officer_id: uuid.UUID, data: bytes, *, data_dir: Path, actor: str,
                    cache: VerifyCache | None = None) -> Officer:
    clean = await asyncio.to_thread(reencode, data)
    async with in_transaction():
        officer = await visible_one(Officer.filter(id=officer_id).select_for_update(), agency_id, officer_not_found())
        relative = f"{FOLDER}/{officer.id}.jpg"
        await asyncio.to_thread(write_private, Path(data_dir) / relative, clean)
        officer.photo_path = relative
        await officer.save(update_fields=["photo_path", "updated_at"])
        await audit.record(actor, "officer.photo", "officer", officer.id, agency_id=agency_id,
                           data={"bytes": len(clean)})
    if cache is not None:  # the H5 page shows the new photo on the next scan
        await cache.invalidate()
    return officer


def stored_photo(data_dir: Path, relative: str | None) -> Path | None:
    """The file of a stored photo (``officer.photo_path``), or None; never a file outside the data folder."""
    if not relative:
        return None
    root = Path(data_dir).resolve()
    path = (root / relative).resolve()
    return path if root in path.parents and path.is_file() else None


async def officer_photo(data_dir: Path, officer_id: uuid.UUID) -> Path | None:
    rows = await Officer.filter(id=officer_id).values_list("photo_path", flat=True)
    return stored_photo(data_dir, rows[0] if rows else None)  # type: ignore[arg-type]  # flat: one str
