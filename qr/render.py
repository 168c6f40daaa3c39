"""QR rendering: card-ready PNG (300 dpi) and SVG for one verify URL. Pure functions."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.svg
from PIL import Image

# Version 6 (41×41 modules) is the most that prints on an ID card and scans at arm's length (R-C4).
MAX_VERSION = 6
DPI = 300
_LEVELS = ((qrcode.constants.ERROR_CORRECT_Q, "Q"), (qrcode.constants.ERROR_CORRECT_M, "M"))


class QrTooLarge(ValueError):
    pass


def build(url: str) -> tuple[qrcode.QRCode, str]:
    """The QR for ``url`` at the strongest error correction (Q, else M) that stays within version 6."""
    for level, name in _LEVELS:
        code = qrcode.QRCode(version=None, error_correction=level, box_size=1, border=4)
        code.add_data(url.encode("ascii"))
        code.make(fit=True)
        if code.version <= MAX_VERSION:
            return code, name
    raise QrTooLarge(f"URL of {len(url)} characters needs QR version > {MAX_VERSION} at level M")


def matrix_image(code: qrcode.QRCode, module_px: int) -> Image.Image:
    """A 1-bit image of the QR with its 4-module quiet zone, ``module_px`` pixels per module."""
    rows = code.get_matrix()  # includes the border
    n = len(rows)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in rows for cell in row])
    return img.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)


def png(url: str, *, module_px: int = 7) -> bytes:
    """Card-ready PNG at 300 dpi: 7 px modules are 0.59 mm, about 26 mm wide for version 5."""
    code, _ = build(url)
    out = io.BytesIO()
    matrix_image(code, module_px).save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()


def svg(url: str, *, module_tenths_mm: int = 6) -> bytes:
    """SVG with a white background, sized in mm (0.6 mm modules by default, like the PNG)."""
    code, _ = build(url)
    code.box_size = module_tenths_mm  # qrcode's SVG unit: box_size 10 is 1 mm per module
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode").encode("utf-8")
