"""The H5 pages as a phone browser renders them: the verify page (one big status word per state,
rights, rate and complain) and the annual statistics page; none writes anything to the console.

Screenshots are kept under test-artifacts/h5/ for people to look at.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from PIL import Image

from backend.app_keys import CLOCK
from backend.models import Credential
from qr import render as qr_render
from tests.credentials.support import a_credential, act
from tests.factories import an_agency, an_agency_register
from tests.miniprogram_api.chromium import ARTIFACTS, needs_chromium, render
from tests.qr.zbar import decode, needs_zbar
from tests.support.statistics import PERSON, a_fined_decision_appealed, submit_and_publish

# status -> (the big word, the banner's colour as (r, g, b) roughly)
EXPECTED = {
    "valid": ("有效", (10, 125, 50)),
    "suspended": ("暂扣", (194, 94, 0)),
    "revoked": ("注销", (179, 18, 31)),
    "expired": ("已过期", (92, 99, 112)),
    "void": ("已作废", (179, 18, 31)),
    "invalid": ("无效二维码", (179, 18, 31)),
}


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


async def tokens_in_every_state(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    agency = await an_agency("杭州市西湖区市场监督管理局")
    await an_agency_register(agency.agency.id, client.app[CLOCK], complaint_phone="0571-87654321")
    out: dict[str, str] = {}
    valid = await a_credential(client, agency)
    out["valid"] = valid["token"]
    suspended = await a_credential(client, agency)
    await act(client, agency, suspended["id"], "suspend", reason="调查期间暂扣")
    out["suspended"] = suspended["token"]
    revoked = await a_credential(client, agency)
    await act(client, agency, revoked["id"], "revoke", reason="调离执法岗位")
    out["revoked"] = revoked["token"]
    expired = await a_credential(client, agency)
    await Credential.filter(id=expired["id"]).update(valid_until=client.app[CLOCK].today() - timedelta(days=1))
    out["expired"] = expired["token"]
    old = await a_credential(client, agency)
    await act(client, agency, old["id"], "reissue", reason="证件遗失")
    out["void"] = old["token"]
    out["invalid"] = "Q" * 30
    return out


@needs_chromium
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_h5_page_shows_each_status_unmistakably_in_a_real_browser(client):
    tokens = await tokens_in_every_state(client)
    shots = {status: ARTIFACTS / "h5" / f"verify-{status}.png" for status in tokens}
    logs: dict[str, list[str]] = {s: [] for s in tokens}
    doms = await asyncio.gather(*(render(str(client.make_url(f"/v/{tokens[s]}")), shots[s], console=logs[s])
                                  for s in tokens))
    for status, dom in zip(tokens, doms, strict=True):
        assert logs[status] == [], f"{status}: console {logs[status]}"
        word, colour = EXPECTED[status]
        text = visible_text(dom)
        assert re.search(rf'id="status"[^>]*>\s*{word}\s*<', dom), f"{status}: big word missing"
        assert "核验时间" in text
        assert "您的权利" in text and "有权拒绝" in text
        assert "投诉" in text and "12345" in text
        for other, (other_word, _) in EXPECTED.items():
            if other != status and other_word not in word:
                assert f">{other_word}<" not in dom, f"{status} page also shows {other_word}"
        if status != "invalid":
            assert "评价本次执法" in text and 'method="post"' in dom
            assert "0571-87654321" in text
        assert "<script" not in dom and "http://" not in dom.replace(str(client.make_url("/")), "")
        img = Image.open(shots[status]).convert("RGB")
        r, g, b = img.getpixel((img.width // 2, 12))
        assert sum(abs(a - e) for a, e in zip((r, g, b), colour, strict=True)) < 40, f"{status}: banner {r, g, b}"


@needs_chromium
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_annual_statistics_page_reads_in_a_real_browser_and_is_reached_from_the_agency_page(client):
    agency = await an_agency("杭州市西湖区市场监督管理局")
    year = client.app[CLOCK].today().year - 1  # the last year that is over: it can be published
    await a_fined_decision_appealed(client, agency.auth(), year)
    await submit_and_publish(client, agency.auth(), year)
    pages = {"statistics": f"/s/{year}", "agency-statistics": f"/s/{year}?agency={agency.agency.id}",
             "agency": f"/a/{agency.agency.id}", "search": "/d", "not-published": f"/s/{year + 1}"}
    logs: dict[str, list[str]] = {k: [] for k in pages}
    doms = dict(zip(pages, await asyncio.gather(*(
        render(str(client.make_url(path)), ARTIFACTS / "h5" / f"{name}.png", console=logs[name])
        for name, path in pages.items())), strict=True))
    text = {k: visible_text(v) for k, v in doms.items()}
    for name in pages:
        assert logs[name] == [], f"{name}: console {logs[name]}"
        assert "<script" not in doms[name] and "http://" not in doms[name].replace(str(client.make_url("/")), "")
    page = text["statistics"]
    assert f"{year}年度行政执法统计年报" in page and "杭州市西湖区市场监督管理局" in page
    for heading in ("立案、决定与金额", "金额构成（元）", "决定中的处理措施（次）", "行政复议", "行政诉讼"):
        assert heading in page
    assert "2,000.00" in page and "罚款 1" in page and "维持 1" in page
    assert PERSON["name"] not in page and PERSON["phone"] not in page and PERSON["id_number"] not in page
    assert f"查看{year}年度全部机关的统计年报" in text["agency-statistics"]
    assert f"{year}年度统计年报" in text["agency"] and f"/s/{year}?agency={agency.agency.id}" in doms["agency"]
    assert "统计年报" in text["search"] and f'href="/s/{year}"' in doms["search"]
    assert "未找到" in text["not-published"] and f"{year + 1}年度的统计年报尚未公开" in text["not-published"]


@needs_chromium
@needs_zbar
async def test_the_svg_renders_in_a_browser_and_decodes_to_the_url(tmp_path):
    url = "https://zfgs.example.gov.cn/v/" + "Ab3_" * 7 + "xY"
    path = tmp_path / "qr.svg"
    path.write_bytes(qr_render.svg(url))
    shot = ARTIFACTS / "qr" / "svg-rendered.png"
    await render(path.as_uri(), shot, width=400, height=400)
    assert decode(shot, tmp_path) == [url]
