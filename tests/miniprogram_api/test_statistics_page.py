"""The H5 page of a year's published annual statistics (统计年报) over HTTP: what it shows per agency
and enforcement type, the clear 404 page before publication, the links to it from the agency page and
the search page, escaping, paging, and nothing personal."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from backend.clock import SHANGHAI, FrozenClock
from tests.factories import an_agency
from tests.support.statistics import PERSON, a_fined_decision_appealed, submit_and_publish

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 12, 1, 10, 0, tzinfo=SHANGHAI))


def text_of(html: str) -> str:
    html = re.sub(r"<style[^>]*>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row(html: str, section: str, label: str) -> str:
    """The text of one table row (``label``) in the part of the page headed ``section``."""
    part = html.split(f"<h3>{section}</h3>", 1)[1].split("</table>", 1)[0]
    found = re.search(rf"<tr[^>]*><th scope='row'>{label}</th>(.*?)</tr>", part)
    assert found, (section, label)
    return text_of(found.group(1)).strip()


async def test_a_published_year_is_a_page_per_agency_and_type_and_before_that_a_clear_404(client, clock):
    agency, other = await an_agency("甲局 <i>&"), await an_agency("乙局")
    await a_fined_decision_appealed(client, agency.auth(), 2025)
    await a_fined_decision_appealed(client, agency.auth(), 2025, fine="350.50")
    clock.at = datetime(2026, 1, 20, 10, 0, tzinfo=SHANGHAI)

    # Not published yet: a Chinese 404 page for a browser, the JSON error for a client.
    for year in ("2025", "2026"):
        resp = await client.get(f"/s/{year}", headers=HTML)
        assert resp.status == 404 and resp.content_type == "text/html", year
        page = await resp.text()
        assert f"{year}年度的统计年报尚未公开" in page and "1月31日前" in page and "<script" not in page
    resp = await client.get("/s/2025")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "statistics_not_published"
    for year, code in (("2027", "statistics_year_in_future"), ("abcd", "statistics_year_invalid")):
        resp = await client.get(f"/s/{year}")
        assert resp.status == 422 and (await resp.json())["error"]["code"] == code
        assert (await client.get(f"/s/{year}", headers=HTML)).content_type == "text/html"
    assert (await client.get("/s/2025?agency=not-a-uuid")).status == 422
    # Submitted is not published.
    assert (await client.post("/api/v1/statistics/2025/submit", headers=agency.auth(), json={})).status == 200
    assert (await client.get("/s/2025", headers=HTML)).status == 404

    resp = await client.post("/api/v1/statistics/2025/publish", headers=agency.auth())
    assert resp.status == 200, await resp.text()
    resp = await client.get("/s/2025", headers=HTML)
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    text = text_of(html)
    assert "2025年度行政执法统计年报" in text and "共 1 个执法机关" in text
    assert "甲局 &lt;i&gt;&amp;" in html and "<i>" not in html  # the agency's name, escaped
    assert f"href='/a/{agency.agency.id}'" in html and "乙局" not in text
    assert "第1版，2026-01-20 公开" in text
    assert row(html, "立案、决定与金额", "行政处罚") == "2 2 2,350.50"
    assert row(html, "立案、决定与金额", "行政许可") == "0 0 0.00"  # every type, zeros too
    assert row(html, "立案、决定与金额", "合计") == "2 2 2,350.50"
    assert row(html, "金额构成（元）", "行政处罚") == "2,350.50 0.00 0.00 0.00"
    assert row(html, "决定中的处理措施（次）", "行政处罚") == "罚款 2"
    assert row(html, "决定中的处理措施（次）", "行政许可") == "—"
    assert row(html, "行政复议", "行政处罚") == "2 维持 2"
    assert row(html, "行政诉讼", "合计") == "0 —"
    for personal in (PERSON["name"], PERSON["phone"], PERSON["id_number"], "张"):
        assert personal not in text
    assert "<script" not in html and "http" not in html

    # One agency's report; another agency that published nothing is a 404 of its own.
    mine = await (await client.get(f"/s/2025?agency={agency.agency.id}", headers=HTML)).text()
    assert "查看2025年度全部机关的统计年报" in mine and "<title>甲局 &lt;i&gt;&amp; · 2025年度统计年报" in mine
    resp = await client.get(f"/s/2025?agency={other.agency.id}", headers=HTML)
    assert resp.status == 404 and "该机关2025年度的统计年报尚未公开" in await resp.text()

    # Linked from the agency's page (its published years) and from the search page's footer.
    linked = await (await client.get(f"/a/{agency.agency.id}")).text()
    assert f"<a href='/s/2025?agency={agency.agency.id}'>2025年度统计年报</a>" in linked
    assert "本机关尚未公开统计年报" in await (await client.get(f"/a/{other.agency.id}")).text()
    assert "href='/s/2025'" in await (await client.get("/d")).text()

    # A correction is a new version, published in turn; a second agency pages on.
    await submit_and_publish(client, agency.auth(), 2025, reason="补录一件决定")
    await submit_and_publish(client, other.auth(), 2025)
    first = await (await client.get("/s/2025?page_size=1", headers=HTML)).text()
    assert "共 2 个执法机关" in first
    nxt = re.search(r"id='next' href='([^']+)'", first)
    assert nxt and nxt.group(1) == "/s/2025?page=2&amp;page_size=1"
    second = await (await client.get("/s/2025?page=2&page_size=1", headers=HTML)).text()
    assert "id='next'" not in second
    pages = {("甲局" in p, "乙局" in p): p for p in (first, second)}
    corrected, plain = pages[True, False], pages[False, True]  # one agency on each page, by name
    assert "第2版" in corrected and "更正过 1 次" in corrected
    assert "第1版" in plain and "更正过" not in plain and row(plain, "立案、决定与金额", "合计") == "0 0 0.00"

    # Each page links the other published years (of the agency, when one is asked for).
    await submit_and_publish(client, other.auth(), 2024)
    assert "<a href='/s/2024'>2024年度</a>" in await (await client.get("/s/2025")).text()
    assert "<a href='/s/2025'>2025年度</a>" in await (await client.get("/s/2024")).text()
    assert "其他年度" not in await (await client.get(f"/s/2025?agency={agency.agency.id}")).text()
