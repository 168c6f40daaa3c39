"""The public search of decisions at the service level, on both databases: every filter, keyset
pages, what leaves public view, corrections, and names of natural persons that are never found."""

from __future__ import annotations

import asyncio
import base64
import itertools
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from tortoise import connections

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import ValidationFailed
from backend.models import DecisionSearch, DecisionSearchGram, Party
from backend.models.enums import CaseType, DecisionStatus
from backend.services import cases, decisions, search
from backend.services.search import CursorInvalid, CursorMismatch, Filters
from tests.factories import an_agency, previewed

_seq = itertools.count(1)
PERSON = {"kind": "person", "name": "欧阳修远", "phone": "13800138001", "id_number": "330102199001011234"}


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))


async def a_public_decision(db, clock, agency_id, *, org="杭州星辰科技有限公司", person=PERSON,  # type: ignore[no-untyped-def]
                            type="penalty", decided_at=date(2026, 11, 2), summary="当事人无证经营，罚款五千元。",
                            document_no=None):
    parties = [p for p in (person, {"kind": "organization", "name": org} if org else None) if p]
    case, _ = await cases.create_case(agency_id, {"title": "无照经营", "type": type, "parties": parties}, "test", clock)
    decision = await decisions.create(agency_id, case.id, {
        "document_no": document_no or f"杭西市监罚〔2026〕{next(_seq)}号", "summary": summary,
        "decided_at": decided_at}, "test", clock)
    await decisions.change(db, clock, agency_id, decision.id, "publish", "test",
                           preview_hash=await previewed(agency_id, decision.id))
    return decision


async def ids(filters: Filters, **kw) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    return [h.decision_id for h in (await search.search(filters, **kw)).items]


async def all_pages(filters: Filters, page_size: int = 3) -> list[uuid.UUID]:
    out, cursor = [], None
    while True:
        page = await search.search(filters, cursor, page_size=page_size)
        out += [h.decision_id for h in page.items]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_every_filter_narrows_the_results_and_they_combine(db, frozen):
    a, b = (await an_agency("甲局")).agency.id, (await an_agency("乙局")).agency.id
    star = await a_public_decision(db, frozen, a, org="杭州星辰科技有限公司", decided_at=date(2026, 11, 2))
    moon = await a_public_decision(db, frozen, a, org="杭州明月餐饮有限公司", type="permit",
                                   decided_at=date(2026, 10, 15))
    other = await a_public_decision(db, frozen, b, org="宁波星辰贸易有限公司", decided_at=date(2026, 9, 1),
                                    document_no="甬市监罚〔2026〕7号")
    assert await ids(Filters()) == [star.id, moon.id, other.id]  # newest decision date first
    assert await ids(Filters(agency_id=a)) == [star.id, moon.id]
    assert await ids(Filters(type=CaseType.PERMIT)) == [moon.id]
    assert await ids(Filters(decided_from=date(2026, 10, 15))) == [star.id, moon.id]  # inclusive
    assert await ids(Filters(decided_to=date(2026, 10, 15))) == [moon.id, other.id]
    assert await ids(Filters(decided_from=date(2026, 10, 1), decided_to=date(2026, 10, 31))) == [moon.id]
    assert await ids(Filters(party="星辰")) == [star.id, other.id]  # two characters, from the index
    assert await ids(Filters(party="星辰科技")) == [star.id]
    assert await ids(Filters(party="星辰 科技")) == []  # the whole query is a substring, not its words
    assert await ids(Filters(party="ＸＩＮＧ")) == []
    assert await ids(Filters(document_no="甬市监罚〔2026〕7号")) == [other.id]
    assert await ids(Filters(document_no=" 甬市监罚〔2026〕7号 ")) == [other.id]
    assert await ids(Filters(agency_id=b, party="星辰")) == [other.id]
    assert await ids(Filters(agency_id=a, type=CaseType.PENALTY, party="星辰", decided_to=date(2026, 11, 2))) == [
        star.id]


async def test_latin_names_match_whatever_the_width_and_case(db, frozen):
    agency = (await an_agency()).agency.id
    d = await a_public_decision(db, frozen, agency, org="Hangzhou BrightStar Ltd. 杭州分公司")
    for query in ("brightstar", "ＢＲＩＧＨＴ", "Star Ltd", "ltd. 杭州"):
        assert await ids(Filters(party=query)) == [d.id], query


async def test_a_natural_persons_name_finds_nothing(db, frozen):
    agency = (await an_agency()).agency.id
    d = await a_public_decision(db, frozen, agency, org="杭州星辰科技有限公司",
                                summary="当事人欧阳修远无证经营，罚款五千元。")
    alone = await a_public_decision(db, frozen, agency, org=None, person={"kind": "person", "name": "王小明"})
    for name in ("欧阳修远", "欧阳", "修远", "王小明", "小明", "欧阳*"):
        assert await ids(Filters(party=name)) == [], name
    row = await DecisionSearch.get(decision_id=d.id)
    stored = " ".join(str(v) for v in (await DecisionSearch.filter(id=row.id).values())[0].values())
    assert "欧阳修远" not in stored and "王小明" not in stored and "330102199001011234" not in stored
    assert {h.decision_id for h in (await search.search(Filters())).items} == {d.id, alone.id}
    assert [h.party for h in (await search.search(Filters(party="星辰科技"))).items] == ["欧阳*、杭州星辰科技有限公司"]


async def test_a_withdrawn_decision_and_an_ended_one_leave_the_search(db, frozen):
    agency = (await an_agency()).agency.id
    kept = await a_public_decision(db, frozen, agency)
    gone = await a_public_decision(db, frozen, agency)
    await decisions.change(db, frozen, agency, gone.id, "withdraw", "test", reason="复议机关已撤销")
    assert await ids(Filters(party="星辰")) == [kept.id]
    frozen.at = datetime(2027, 11, 20, 0, 30, tzinfo=SHANGHAI)  # a penalty's 12 months are over
    assert await decisions.end_due_publications(db, frozen) == 1
    assert await ids(Filters()) == []
    assert await DecisionSearch.all().count() == 0
    assert (await decisions.public_view(kept.id)).text is None  # the same rule as the public page


async def test_a_corrected_decision_shows_its_latest_text_and_that_it_was_corrected(db, frozen):
    agency = (await an_agency()).agency.id
    d = await a_public_decision(db, frozen, agency, summary="当事人欧阳修远无证经营，罚款五千元。")
    first = (await search.search(Filters())).items[0]
    assert (first.status, first.version, first.corrected_at) == (DecisionStatus.PUBLISHED, 1, None)
    assert "五千元" in first.text and "欧阳修远" not in first.text
    frozen.advance(hours=2)
    text = "当事人欧阳修远（电话13800138001）无证经营，罚款一千元。"
    await decisions.change(db, frozen, agency, d.id, "correct", "test", summary=text, reason="金额笔误",
                           preview_hash=await previewed(agency, d.id, text, "金额笔误"))
    hit = (await search.search(Filters(party="星辰"))).items[0]
    assert (hit.status, hit.version) == (DecisionStatus.CORRECTED, 2)
    assert hit.corrected_at is not None and hit.corrected_at > first.published_at
    assert "一千元" in hit.text and "五千元" not in hit.text
    assert "欧阳修远" not in hit.text and "13800138001" not in hit.text
    assert hit.text == (await decisions.public_view(d.id)).text


async def test_keyset_pages_have_no_duplicates_and_no_gaps_while_decisions_are_published(db, frozen):
    agency = (await an_agency()).agency.id
    before = [await a_public_decision(db, frozen, agency, decided_at=date(2026, 10, 1 + i % 5)) for i in range(11)]
    seen, cursor, added = [], None, []
    while True:  # between every two pages, decisions dated before, inside and after the pages arrive
        page, new = await asyncio.gather(
            search.search(Filters(party="星辰"), cursor, page_size=3),
            a_public_decision(db, frozen, agency, decided_at=date(2026, 10, 1 + len(added) % 7)))
        added.append(new)
        seen += [h.decision_id for h in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)), "a decision appeared on two pages"
    assert {d.id for d in before} <= set(seen), "a decision public throughout was skipped"
    keys = [(r.decided_at, str(r.decision_id)) for r in
            [await DecisionSearch.get(decision_id=i) for i in seen]]
    assert keys == sorted(keys, reverse=True)
    assert sorted(await all_pages(Filters(party="星辰"))) == sorted([d.id for d in before + added])


async def test_a_cursor_that_was_altered_or_made_for_other_filters_is_refused(db, frozen):
    agency = (await an_agency()).agency.id
    for _ in range(3):
        await a_public_decision(db, frozen, agency)
    cursor = (await search.search(Filters(party="星辰"), page_size=1)).next_cursor
    assert cursor is not None
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[0] ^= 1  # one bit of the date
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    # a cursor built by hand for a position: the check value does not match
    handmade = base64.urlsafe_b64encode(f"2099-01-01|{uuid.uuid4().hex}|{Filters(party='星辰').digest()}".encode()
                                        + b"\0" * 8).decode()
    for bad in (forged, handmade, "not-a-cursor", "", "AAAA", "%%%", "🙂", cursor[:-2]):
        with pytest.raises(CursorInvalid):
            await search.search(Filters(party="星辰"), bad or "=")
    with pytest.raises(CursorMismatch):
        await search.search(Filters(party="星辰科技"), cursor)
    assert len((await search.search(Filters(party="星辰"), cursor, page_size=5)).items) == 2


async def test_queries_that_cannot_be_answered_say_why(db, frozen):
    with pytest.raises(ValidationFailed) as exc:
        await search.search(Filters(party="星"))
    assert exc.value.code == "party_too_short"
    for hopeless in ("  ", "·-·", "a b"):
        with pytest.raises(ValidationFailed):
            await search.search(Filters(party=hopeless))
    with pytest.raises(ValidationFailed) as exc:
        await search.search(Filters(decided_from=date(2026, 2, 1), decided_to=date(2026, 1, 1)))
    assert exc.value.code == "date_range_invalid"


async def test_the_index_and_a_plain_like_scan_agree(db, frozen):
    agency = (await an_agency()).agency.id
    names = ["杭州星辰科技有限公司", "星辰（杭州）传媒有限公司", "浙江辰星科技有限公司", "ABC 星辰 Ltd", "明月楼"]
    for name in names:
        await a_public_decision(db, frozen, agency, org=name)
    for query in ("星辰", "辰星", "科技有限", "杭州", "abc", "abc 星", "ltd", "明月楼", "有限公司", "不存在的"):
        assert await ids(Filters(party=query)) == await ids(Filters(party=query), baseline=True), query


async def test_the_name_index_is_the_one_the_query_uses(db, frozen):
    """The query's expression is the indexed one (PostgreSQL) / the FTS table follows every write (SQLite)."""
    agency = (await an_agency()).agency.id
    d = await a_public_decision(db, frozen, agency)
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        async with conn._in_transaction() as tx:  # a SET LOCAL for this one plan
            await tx.execute_script("SET LOCAL enable_seqscan = off")
            _, plan = await tx.execute_query(
                "EXPLAIN SELECT id FROM decision_search WHERE string_to_array(party_grams, ' ') @> $1::text[]",
                [["星辰"]])
        assert "decision_search_grams" in " ".join(str(r[0]) for r in plan)
    else:
        _, rows = await conn.execute_query(
            "SELECT rowid FROM decision_search_fts WHERE decision_search_fts MATCH ?", ['"星辰"'])
        assert [r[0] for r in rows] == [(await DecisionSearch.get(decision_id=d.id)).id]
    await decisions.change(db, frozen, agency, d.id, "withdraw", "test", reason="撤回")
    if conn.capabilities.dialect != "postgres":
        _, rows = await conn.execute_query(
            "SELECT rowid FROM decision_search_fts WHERE decision_search_fts MATCH ?", ['"星辰"'])
        assert rows == [] or list(rows) == []


@pytest.mark.parametrize("walk", [True, False])
async def test_the_walk_over_the_newest_rows_and_the_name_index_give_the_same_pages(db, frozen, monkeypatch, walk):
    # Whichever way a party filter is answered (the cheaper, chosen from the index's count), every
    # page is the one a plain LIKE scan gives, cursor by cursor.
    monkeypatch.setattr(search, "walk_is_cheaper", lambda matches, rows, page_size: walk)
    agency = (await an_agency()).agency.id
    names = ["杭州星辰科技有限公司", "明月科技有限公司", "星辰餐饮店", "杭州明月餐饮有限公司", "东海科技有限公司"]
    for i, name in enumerate(names * 2):
        await a_public_decision(db, frozen, agency, org=name, decided_at=date(2026, 10, 1 + i % 4))

    for query in ("科技", "星辰", "餐饮", "明月餐饮", "不存在的"):
        for filters in (Filters(party=query), Filters(party=query, agency_id=agency, decided_from=date(2026, 10, 2))):
            assert await _pages(filters, 3) == await _pages(filters, 3, baseline=True), (query, filters)


def test_the_walk_is_chosen_for_common_words_and_the_index_for_rare_names():
    assert search.walk_is_cheaper(7000, 100_000, 20)  # 科技 in one decision of 14
    assert not search.walk_is_cheaper(30, 100_000, 20)  # a company's own name
    assert not search.walk_is_cheaper(1449, 100_000, 20) and search.walk_is_cheaper(1450, 100_000, 20)
    assert not search.walk_is_cheaper(0, 0, 20)


def test_the_index_is_asked_for_the_rarest_grams_until_one_decision_is_expected():
    grams = search._wanted("星辰科技有限公司")  # 星辰 辰科 科技 技有 有限 限公 公司
    shares = {"有限": 0.6, "公司": 0.6, "限公": 0.4, "科技": 0.07, "技有": 0.05, "辰科": 0.002, "星辰": 0.001}
    # 1,000,000 × 0.001 × 0.002 = 2 expected: one more (技有, 0.1 expected); never the common grams
    assert search.rarest_grams(grams, shares, 1_000_000) == ["技有", "星辰", "辰科"]
    assert search.rarest_grams(grams, shares, 100_000) == ["星辰", "辰科"]  # 0.2 expected after both
    assert search.rarest_grams(grams, shares, 400) == ["星辰"]  # 0.4 expected after the rarest alone
    # A gram the statistics do not hold is rarer than all they hold: half the least common share.
    assert search.rarest_grams(["不存", "存在", "公司"], {"公司": 0.6, "科技": 0.0002}, 1_000_000) == ["不存", "存在"]
    assert search.rarest_grams(["有限", "限公", "公司"], shares, 1_000_000) == ["公司", "有限", "限公"]  # all common
    assert search.rarest_grams(grams, {}, 1_000_000) == grams  # no statistics yet: every gram


def test_the_match_count_is_estimated_from_the_grams_shares_as_the_planner_does():
    shares = {"科技": 0.07, "有限": 0.6, "星辰": 0.002}
    assert search.expected_matches(["科技"], shares, 1_000_000) == pytest.approx(70_000)  # the walk
    assert search.expected_matches(["星辰", "科技"], shares, 1_000_000) == pytest.approx(140)  # the index
    assert search.expected_matches(["秋宏"], shares, 1_000_000) == pytest.approx(1_000)  # half of 星辰's share


async def test_the_grams_shares_come_from_the_statistics_and_the_pages_stay_those_of_a_like_scan(db, frozen):
    # The shares of each gram: on PostgreSQL read from pg_stats after ANALYZE (of the GIN expression),
    # on SQLite counted in a sample of the newest search rows (here all 12). A full name is looked up
    # by its rare grams only (有限公司 is in every row), and every page is still the one a plain LIKE
    # scan gives (the names are checked whole on every candidate).
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    agency = (await an_agency()).agency.id
    names = ["杭州星辰科技有限公司", "宁波明月科技有限公司", "温州星辰餐饮有限公司", "杭州东海科技有限公司"]
    decisions = [await a_public_decision(db, frozen, agency, org=name, decided_at=date(2026, 10, 1 + i % 5))
                 for i, name in enumerate(names * 3)]
    if pg:
        await conn.execute_script("ANALYZE decision_search")
    shares = await search._gram_frequencies(conn)
    assert shares["公司"] == shares["有限"] == 1.0 and shares["星辰"] == 0.5
    asked = search.rarest_grams(search._wanted("星辰科技有限公司"), shares, 12)
    assert set(asked) & {"有限", "限公", "公司"} == set() and "星辰" in asked
    # The walk-or-index choice counts from the same shares (PostgreSQL) or in the index (SQLite):
    # 科技 is in 9 of the 12 decisions.
    assert await search._matches(conn, pg, "科技", await search._asked(conn, "科技", 12), 100, 12) == 9
    if not pg:
        # The FTS5 query holds the asked grams only: a row whose index entry lost 公司 is still found
        # by the full name (asking for every gram, FTS5 would read 公司's doclist and miss it).
        row = await DecisionSearch.get(decision_id=decisions[0].id)
        kept = " ".join(g for g in row.party_grams.split() if g != "公司")
        await conn.execute_query("INSERT INTO decision_search_fts(decision_search_fts, rowid, party_grams)"
                                 " VALUES ('delete', ?, ?)", [row.id, row.party_grams])
        await conn.execute_query("INSERT INTO decision_search_fts(rowid, party_grams) VALUES (?, ?)", [row.id, kept])
        assert decisions[0].id in await ids(Filters(party="杭州星辰科技有限公司"), page_size=100)

    for query in ("星辰科技有限公司", "星辰", "明月科技有限公司", "科技有限公司", "星辰餐饮", "不存在有限公司"):
        assert await _pages(Filters(party=query), 2) == await _pages(Filters(party=query), 2, baseline=True), query


async def test_the_name_index_has_no_pending_list(db):
    # Migration 0018: with GIN's fastupdate, new rows wait in a list every search reads whole.
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        pytest.skip("FTS5 on SQLite has no pending list")
    _, rows = await conn.execute_query("SELECT reloptions FROM pg_class WHERE relname = 'decision_search_grams'")
    assert "fastupdate=off" in list(rows[0][0] or [])


async def _gram_rows() -> list[tuple[str, str, str]]:
    return sorted((str(g), str(d), str(i)) for g, d, i in
                  await DecisionSearchGram.all().values_list("gram", "decided_at", "decision_id"))


async def _assert_gram_rows_in_step() -> None:
    """The gram rows are exactly those of the search rows: one per distinct gram, date and decision."""
    wanted = sorted((g, str(d), str(i)) for grams, d, i in
                    await DecisionSearch.all().values_list("party_grams", "decided_at", "decision_id")
                    for g in str(grams).split())
    assert await _gram_rows() == wanted


async def _pages_agree_with_like(queries: tuple[str, ...], agency: uuid.UUID) -> None:
    for query in queries:
        for filters in (Filters(party=query), Filters(party=query, agency_id=agency),
                        Filters(party=query, type=CaseType.PERMIT),
                        Filters(party=query, decided_from=date(2026, 10, 2), decided_to=date(2026, 10, 3)),
                        Filters(party=query, document_no="杭西市监罚〔2026〕特1号")):
            whole = await ids(filters, page_size=100, baseline=True)  # one page: no cursor in the query
            for size in (1, 3):
                pages = await _pages(filters, size)
                assert pages == await _pages(filters, size, baseline=True), (filters, size)
                assert [i for page in pages for i in page] == whole, (filters, size)


TWO_CHARACTERS = ("星辰", "科技", "辰星", "ab", "星辰·", "明月", "不存")


async def test_two_character_queries_page_like_a_like_scan_through_corrections_and_withdrawals(db, frozen):
    # A query of one bigram walks that gram's rows (decision_search_gram) newest first: every page,
    # cursor by cursor and with every other filter, is the one a plain LIKE scan gives, also after
    # corrections (the latest version shown) and withdrawals (gone). Dates repeat: ties go by id.
    a, b = (await an_agency("甲局")).agency.id, (await an_agency("乙局")).agency.id
    names = ["杭州星辰科技有限公司", "浙江辰星科技有限公司", "AB 星辰 Ltd", "杭州星辰·科技有限公司", "明月餐饮店",
             "星辰星辰贸易商行"]
    made = []
    for i, name in enumerate(names * 2):
        made.append(await a_public_decision(
            db, frozen, a if i % 3 else b, org=name, type="permit" if i % 4 == 0 else "penalty",
            decided_at=date(2026, 10, 1 + i % 4), document_no="杭西市监罚〔2026〕特1号" if i == 5 else None))
    await _assert_gram_rows_in_step()
    await _pages_agree_with_like(TWO_CHARACTERS, a)

    frozen.advance(hours=1)
    text = "当事人无证经营，罚款一千元（更正）。"
    for d in made[:3]:
        await decisions.change(db, frozen, a if made.index(d) % 3 else b, d.id, "correct", "test", summary=text,
                               reason="金额笔误", preview_hash=await previewed(a if made.index(d) % 3 else b, d.id,
                                                                               text, "金额笔误"))
    for d in made[3:6]:
        await decisions.change(db, frozen, a if made.index(d) % 3 else b, d.id, "withdraw", "test", reason="撤回")
    await _assert_gram_rows_in_step()
    await _pages_agree_with_like(TWO_CHARACTERS, a)
    shown = {h.decision_id: h for h in await _all_hits(Filters(party="星辰"))}
    assert not {d.id for d in made[3:6]} & set(shown)  # withdrawn: excluded
    assert {made[0].id, made[2].id} <= set(shown)  # the corrected ones with 星辰, shown as corrected
    for d in (made[0], made[2]):
        hit = shown[d.id]
        assert (hit.version, hit.status, hit.text) == (2, DecisionStatus.CORRECTED, text)


async def test_the_gram_rows_follow_every_decision_event(db, frozen):
    # One row per distinct gram of the searchable names, written in the event's transaction: on
    # publication, on a correction (which re-reads the parties: a name fixed in the register since is
    # carried), on withdrawal and on the end of the period (gone).
    agency = (await an_agency()).agency.id
    kept = await a_public_decision(db, frozen, agency, org="杭州星辰科技有限公司", decided_at=date(2026, 11, 2))
    d = await a_public_decision(db, frozen, agency, org="宁波明月贸易商行", decided_at=date(2026, 11, 3))
    await _assert_gram_rows_in_step()
    assert {g for g, _, i in await _gram_rows() if i == str(d.id)} == {"宁波", "波明", "明月", "月贸", "贸易", "易商",
                                                                       "商行"}
    # No service renames a party today; a data fix of the registered name does, and the next
    # decision event carries it into the search and its gram rows.
    await Party.filter(name="宁波明月贸易商行").update(name="宁波晨阳贸易商行")
    text = "当事人无证经营，罚款三千元。"
    await decisions.change(db, frozen, agency, d.id, "correct", "test", summary=text, reason="笔误",
                           preview_hash=await previewed(agency, d.id, text, "笔误"))
    await _assert_gram_rows_in_step()
    assert await ids(Filters(party="晨阳")) == [d.id] and await ids(Filters(party="明月")) == []
    await decisions.change(db, frozen, agency, d.id, "withdraw", "test", reason="撤回")
    await _assert_gram_rows_in_step()
    assert {i for _, _, i in await _gram_rows()} == {str(kept.id)}
    frozen.at = datetime(2027, 11, 20, 0, 30, tzinfo=SHANGHAI)  # a penalty's 12 months are over
    assert await decisions.end_due_publications(db, frozen) == 1
    assert await _gram_rows() == []


async def test_a_two_character_query_is_answered_from_the_gram_rows(db, frozen):
    # The path itself: a decision whose gram row is missing is not found by that gram (the search
    # row still holds the name: a LIKE scan or the name index would find it), and a stray gram row
    # never shows what the search row does not say (the names are checked whole on the joined row).
    agency = (await an_agency()).agency.id
    d = await a_public_decision(db, frozen, agency, org="杭州星辰科技有限公司")
    await DecisionSearchGram.filter(decision_id=d.id, gram="星辰").delete()
    assert await ids(Filters(party="星辰")) == [] and await ids(Filters(party="星辰"), baseline=True) == [d.id]
    assert await ids(Filters(party="辰科")) == [d.id]
    await DecisionSearchGram.create(decision_id=d.id, gram="明月", decided_at=date(2026, 11, 2))
    assert await ids(Filters(party="明月")) == []


async def _all_hits(filters: Filters) -> list[search.Hit]:
    out, cursor = [], None
    while True:
        page = await search.search(filters, cursor, page_size=4)
        out += page.items
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def _pages(filters: Filters, page_size: int, **kw: Any) -> list[list[uuid.UUID]]:
    """Every page of a search, cursor by cursor: the ids on each."""
    out, cursor = [], None
    while True:
        page = await search.search(filters, cursor, page_size=page_size, **kw)
        out.append([h.decision_id for h in page.items])
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
