"""One print-sheet pipeline for the API, the CLI and the demo: the cards valid today, rendered by ``qr.sheet``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from backend.errors import Conflict, NotFound
from backend.files import write_private
from backend.models import Credential
from backend.services.disclosure.status import CURRENT, C, credential_not_found, effective_status, verify_url
from backend.services.disclosure.verification import KeyStore
from backend.services.photos import stored_photo
from qr import sheet
from qr.sheet import CardData

log = logging.getLogger("yangguang.credentials")


# Why a card cannot be printed, in the words of the verify page.
_NOT_PRINTABLE = {C.SUSPENDED: "暂扣", C.REVOKED: "注销", C.EXPIRED: "已过期", C.VOID: "已作废",
                  C.NOT_YET_VALID: "未生效"}


async def printable_credentials(agency_id: uuid.UUID, credential_ids: list[uuid.UUID] | None,
                                today: date) -> list[dict[str, Any]]:
    """Cards to print: the given ones (of this agency), or every card of the agency valid today.
    Only a card that verifies 有效 today is printed; asking for any other is a 409 naming each."""
    query = Credential.filter(officer__agency_id=agency_id)
    if credential_ids:
        query = query.filter(id__in=credential_ids)
    else:
        query = query.filter(status__in=list(CURRENT))
    rows = await query.order_by("officer__name", "id").values(
        "id", "token_seed", "status", "valid_from", "valid_until", name="officer__name",
        certificate_no="officer__certificate_no", categories="officer__categories", region="officer__region",
        photo_path="officer__photo_path", agency_name="officer__agency__name")
    if credential_ids and len(rows) != len(set(credential_ids)):
        raise credential_not_found()
    for row in rows:
        row["shown"] = effective_status(row["status"], row["valid_from"], row["valid_until"], today)
    refused = [r for r in rows if r["shown"] is not C.VALID]
    if refused and credential_ids:
        names = "、".join(f"{r['name']}（{_NOT_PRINTABLE[r['shown']]}）" for r in refused)
        raise Conflict(f"以下证件当前不是有效状态，不能打印：{names}", code="credentials_not_printable",
                       details=[{"credential_id": str(r["id"]), "status": r["shown"].value} for r in refused])
    return [r for r in rows if r["shown"] is C.VALID]


def card_for(row: dict[str, Any], base_url: str, keys: KeyStore) -> CardData:
    """What a printed card shows, from a ``current_credentials`` row; the token is re-derived with the key."""
    return CardData(
        name=row["name"], certificate_no=row["certificate_no"] or "", agency=row["agency_name"],
        url=verify_url(base_url, keys.token_for(row["token_seed"])), categories=tuple(row["categories"] or ()),
        region=row["region"] or "", valid_until=row["valid_until"].isoformat(),
        photo=photo.read_bytes() if (photo := stored_photo(keys.data_dir, row["photo_path"])) else None)


@dataclass(frozen=True)
class RenderedSheet:
    body: bytes
    content_type: str
    page_count: int


async def _cards(agency_id: uuid.UUID, credential_ids: list[uuid.UUID] | None, base_url: str, keys: KeyStore,
                 today: date) -> list[CardData]:
    rows = await printable_credentials(agency_id, credential_ids, today)
    return [card_for(r, base_url, keys) for r in rows]


async def render(agency_id: uuid.UUID, credential_ids: list[uuid.UUID] | None, base_url: str, keys: KeyStore,
                 today: date, *, fmt: str = "pdf", page: int = 1) -> RenderedSheet:
    """The print sheet as one PDF of every page, or one page as PNG (``fmt="png"``, pages from 1)."""
    cards = await _cards(agency_id, credential_ids, base_url, keys, today)
    if not cards:
        raise NotFound("没有可打印的证件", code="nothing_to_print")
    page_count = -(-len(cards) // sheet.PER_PAGE)
    if fmt == "png":
        if not 1 <= page <= page_count:
            raise NotFound("没有这一页", code="page_out_of_range")
        first = (page - 1) * sheet.PER_PAGE

        def one_page() -> bytes:  # CPU: off the event loop
            return sheet.page_png(sheet.pages(cards[first:first + sheet.PER_PAGE])[0])
        return RenderedSheet(await asyncio.to_thread(one_page), "image/png", page_count)

    def whole() -> bytes:
        return sheet.pdf(sheet.pages(cards))
    return RenderedSheet(await asyncio.to_thread(whole), "application/pdf", page_count)


async def write_print_sheet(agency_id: uuid.UUID, out_dir: Path, base_url: str, keys: KeyStore, today: date,
                            progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Print sheets for every card of the agency valid today: one PNG per A4 page and one PDF of them all."""
    cards = await _cards(agency_id, None, base_url, keys, today)
    if not cards:
        return []
    total = len(cards)

    def render_and_write() -> list[Path]:  # CPU and disk: off the event loop
        pages = sheet.pages(cards, (lambda done: progress(done, total)) if progress else None)
        written = []  # names and photos of officers: private files (backend.files)
        for i, page in enumerate(pages, 1):
            written.append(write_private(out_dir / f"print-sheet-{i:02d}.png", sheet.page_png(page)))
        pdf_path = write_private(out_dir / "print-sheet.pdf", sheet.pdf(pages))
        written.append(pdf_path)
        return written

    return await asyncio.to_thread(render_and_write)
