"""Batch print sheets: A4 pages at 300 dpi with ten ID cards (85.6 × 54 mm) each. Pure functions."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from qr.render import DPI, build, matrix_image

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_INDEX = 2  # Noto Sans CJK SC inside the collection


def mm(x: float) -> int:
    return round(x / 25.4 * DPI)


PAGE = (mm(210), mm(297))
CARD = (mm(85.6), mm(54))
COLUMNS, ROWS = 2, 5
PER_PAGE = COLUMNS * ROWS
MARGIN_X = (PAGE[0] - COLUMNS * CARD[0]) // (COLUMNS + 1)
MARGIN_Y = (PAGE[1] - ROWS * CARD[1]) // (ROWS + 1)


@dataclass(frozen=True)
class CardData:
    name: str
    certificate_no: str
    agency: str
    url: str
    categories: Sequence[str] = field(default_factory=tuple)
    region: str = ""
    valid_until: str = ""
    photo: bytes | None = None  # any image Pillow reads; None draws a placeholder


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(CJK_FONT), size, index=CJK_FONT_INDEX)
    except OSError:
        # Without fonts-noto-cjk the Chinese text would be boxes; the QR and numbers stay correct.
        return ImageFont.load_default(size=size)


def font_available() -> bool:
    return CJK_FONT.exists()


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    while size > 14 and draw.textlength(text, font=_font(size)) > width:
        size -= 2
    return _font(size)


def draw_card(card: CardData) -> Image.Image:
    img = Image.new("RGB", CARD, "white")
    d = ImageDraw.Draw(img)
    w, h = CARD
    d.rounded_rectangle((2, 2, w - 3, h - 3), radius=mm(3), outline=(120, 120, 120), width=3)
    band = mm(9)
    d.rectangle((4, 4, w - 5, band), fill=(175, 20, 30))
    d.text((mm(4), band // 2 + 2), "行政执法证", font=_font(mm(4.2)), fill="white", anchor="lm")
    d.text((w - mm(4), band // 2 + 2), card.agency, font=_fit(d, card.agency, mm(2.6), w - mm(30)),
           fill="white", anchor="rm")
    # Photo (or a placeholder frame where the printed photo goes).
    px, py, pw, ph = mm(4), band + mm(3), mm(20), mm(26)
    if card.photo:
        try:
            photo = Image.open(io.BytesIO(card.photo)).convert("RGB")
            photo.thumbnail((pw, ph))
            img.paste(photo, (px + (pw - photo.width) // 2, py + (ph - photo.height) // 2))
        except OSError:
            card = CardData(**{**card.__dict__, "photo": None})
    if not card.photo:
        d.rectangle((px, py, px + pw, py + ph), outline=(150, 150, 150), width=2, fill=(240, 240, 240))
        d.text((px + pw // 2, py + ph // 2), "照片", font=_font(mm(3)), fill=(150, 150, 150), anchor="mm")
    # QR on the right, within the card's height.
    code, _ = build(card.url)
    n = len(code.get_matrix())
    module = max(1, (h - band - mm(9)) // n)
    qr_img = matrix_image(code, module)
    qx, qy = w - qr_img.width - mm(3), band + mm(2)
    img.paste(qr_img.convert("RGB"), (qx, qy))
    d.text((qx + qr_img.width // 2, qy + qr_img.height + mm(0.5)), "扫码核验执法身份",
           font=_font(mm(2.4)), fill=(60, 60, 60), anchor="mt")
    # Text block between photo and QR.
    tx, width = px + pw + mm(3), qx - (px + pw + mm(3)) - mm(2)
    y = band + mm(3)
    d.text((tx, y), card.name, font=_fit(d, card.name, mm(5.5), width), fill="black")
    y += mm(8)
    lines = [f"执法证号 {card.certificate_no}"]
    if card.categories:
        lines.append("执法类别 " + "、".join(card.categories))
    if card.region:
        lines.append("执法区域 " + card.region)
    if card.valid_until:
        lines.append("有效期至 " + card.valid_until)
    for line in lines:
        d.text((tx, y), line, font=_fit(d, line, mm(2.8), width), fill=(30, 30, 30))
        y += mm(4.6)
    return img


def pages(cards: Iterable[CardData], progress: Callable[[int], None] | None = None) -> list[Image.Image]:
    """A4 pages, ten cards each, with cut marks implied by the card borders."""
    out: list[Image.Image] = []
    page: Image.Image | None = None
    for i, card in enumerate(cards):
        slot = i % PER_PAGE
        if slot == 0:
            page = Image.new("RGB", PAGE, "white")
            out.append(page)
        assert page is not None
        col, row = slot % COLUMNS, slot // COLUMNS
        x = MARGIN_X + col * (CARD[0] + MARGIN_X)
        y = MARGIN_Y + row * (CARD[1] + MARGIN_Y)
        page.paste(draw_card(card), (x, y))
        if progress:
            progress(i + 1)
    return out


def page_png(page: Image.Image) -> bytes:
    buf = io.BytesIO()
    page.save(buf, format="PNG", dpi=(DPI, DPI))
    return buf.getvalue()


def pdf(pages_: Sequence[Image.Image]) -> bytes:
    buf = io.BytesIO()
    if not pages_:
        raise ValueError("no pages")
    pages_[0].save(buf, format="PDF", save_all=True, append_images=list(pages_[1:]), resolution=DPI)
    return buf.getvalue()
