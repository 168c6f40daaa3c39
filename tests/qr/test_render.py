"""QR images: decoded by a real decoder, the URL comes back exactly; version ≤ 6 at level Q; 300 dpi."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from qr import keys as qr_keys
from qr import render, sheet, tokens
from tests.qr.zbar import decode, needs_zbar

BASE = "https://zfgs.example.gov.cn"


def urls(tmp_path, n: int) -> list[str]:
    ring = qr_keys.load_keyring(tmp_path)
    return [f"{BASE}/v/{tokens.mint(ring.current, ring.keys)[1]}" for _ in range(n)]


def test_the_verify_url_fits_version_6_at_error_correction_q(tmp_path):
    for url in urls(tmp_path, 50):
        code, level = render.build(url)
        assert level == "Q"
        assert code.version <= 6
    # A longer production origin still fits at M or better.
    long_url = "https://zhifa-gongshi.sifating.zhejiang.gov.cn/v/" + "A" * 30
    code, level = render.build(long_url)
    assert code.version <= 6 and level in ("Q", "M")


def test_an_url_too_long_for_an_id_card_is_refused():
    with pytest.raises(render.QrTooLarge):
        render.build("https://example.gov.cn/v/" + "A" * 200)


@needs_zbar
def test_every_png_decodes_to_its_url_at_300_dpi(tmp_path):
    for url in urls(tmp_path, 5):
        png = render.png(url)
        assert decode(png, tmp_path) == [url]
        img = Image.open(io.BytesIO(png))
        assert tuple(round(d) for d in img.info["dpi"]) == (300, 300)
        assert 200 <= img.width <= 400  # about 17–34 mm at 300 dpi: fits an ID card


def test_svg_is_a_scalable_vector_image(tmp_path):
    svg = render.svg(urls(tmp_path, 1)[0]).decode()
    assert svg.startswith("<svg") or svg.startswith("<?xml")
    assert "<path" in svg and "viewBox" in svg


@needs_zbar
def test_a_print_sheet_holds_ten_cards_a_page_and_every_qr_decodes(tmp_path):
    all_urls = urls(tmp_path, 12)
    cards = [sheet.CardData(name=f"张{i}", certificate_no=f"3301002023{i:04d}", agency="杭州市西湖区市场监督管理局",
                            url=u, categories=("市场监管",), region="杭州市西湖区", valid_until="2027-12-31")
             for i, u in enumerate(all_urls)]
    seen: list[int] = []
    pages = sheet.pages(cards, progress=seen.append)
    assert seen == list(range(1, 13))
    assert len(pages) == 2
    assert pages[0].size == (2480, 3508)  # A4 at 300 dpi
    found: list[str] = []
    for i, page in enumerate(pages):
        path = tmp_path / f"page{i}.png"
        path.write_bytes(sheet.page_png(page))
        found += decode(path, tmp_path)
    assert sorted(found) == sorted(all_urls)
    assert sheet.pdf(pages).startswith(b"%PDF")
