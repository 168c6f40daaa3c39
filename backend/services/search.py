"""The public search of published decisions (R-P5): the index, kept in step, and the query.

What the search shows is what ``decisions.public_view`` shows: a decision whose status is in
``clocks.PUBLIC`` (published or corrected), with its latest masked text, and nothing once it is
withdrawn or its publication period ended. ``sync`` applies that one rule to the index row
(``models.DecisionSearch``) inside every decision event's own transaction: upsert while public,
delete otherwise. Only public fields reach the row: the masked party line, the masked text, and the
organisation parties' names, the only names ``party`` matches (a natural person is never found by
name: their name is not in the row at all).

Names are matched by bigrams (two consecutive letters or digits after NFKC and case folding), so a
two-character query (星辰) is answered from the index: pg_trgm cannot use its index for fewer than three
characters, and most Chinese name searches are two to four. PostgreSQL keeps a GIN index over the
bigram array, SQLite an FTS5 table (tokenizer ``ascii``: every non-ASCII character is a token
character, so each space-separated bigram is one token) kept by triggers; both from migration 0013
(the GIN index without its pending list since 0018). The index is asked only for the query's rarest
bigrams (``rarest_grams``, from the shares of each gram: ANALYZE's on PostgreSQL, a sample of the
newest rows on SQLite). Every candidate is then checked for the whole query as a substring of the
names.

A query of one distinct bigram (most two-character ones) would get every match of its gram from those
indexes, in no date order, each read to be sorted (~400 heap pages for 星辰 at 1,000,000 decisions).
It walks instead that gram's rows in ``decision_search_gram`` (``models.DecisionSearchGram``, one per
distinct gram of each search row, written by ``sync`` from the row; migration 0020), whose btree
(gram, decided_at, decision_id) yields them newest first: the page ends after its rows. Each is joined
to its search row and checked there like any candidate, so a gram row could only ever cost a read,
never show what the search row does not say.

Pages are keyset pages ordered by (decided_at, decision_id) descending. The cursor is opaque: the
last row's key and a digest of the filters, with a check value; it only positions within public
results (it carries no authority), and anything altered or made for other filters is refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import time
import unicodedata
import uuid
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from tortoise import connections

from backend.errors import DomainError, ValidationFailed
from backend.models import Decision, DecisionSearch, DecisionSearchGram, DecisionVersion, Party
from backend.models.enums import CaseType, DecisionStatus, DecisionVersionKind, PartyKind
from backend.services import clocks

PAGE_SIZE = 20
QUERY_MAX = 100  # characters of a party or document number query


class CursorInvalid(DomainError):
    status = 400
    code = "cursor_invalid"
    message = "分页游标无效，请从第一页重新查询"


class CursorMismatch(DomainError):
    status = 400
    code = "cursor_mismatch"
    message = "分页游标属于另一组查询条件，请从第一页重新查询"


# -- names ----------------------------------------------------------------------------------------

def normalize(text: str) -> str:
    """One form for stored names and queries: full-width to half-width (NFKC), case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _runs(text: str) -> list[str]:
    runs, current = [], []
    for ch in text:
        if ch.isalnum():
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def grams(normalized: str) -> list[str]:
    """The bigrams of a normalised text: consecutive letters or digits, within runs of them."""
    return [run[i:i + 2] for run in _runs(normalized) for i in range(len(run) - 1)]


def org_names(parties: Iterable[Party]) -> list[str]:
    """The names the public may search: organisations only (a minor is never an organisation, but
    the flag is honoured whatever the kind says)."""
    return [normalize(p.name) for p in parties if p.kind is PartyKind.ORGANIZATION and not p.is_minor]


# -- keeping the index in step (inside the caller's transaction) -----------------------------------

async def sync(decision: Decision, parties: list[Party], version: DecisionVersion) -> None:
    """After a decision event: its row says what the public view now says, or it is gone; and its
    gram rows (``DecisionSearchGram``) are those of the row, or gone with it."""
    before = await DecisionSearch.filter(decision_id=decision.id).values_list("party_grams", "decided_at")
    old = (str(before[0][0]), _date(before[0][1])) if before else None
    if decision.status not in clocks.PUBLIC:
        await _sync_grams(decision.id, old, None)
        await DecisionSearch.filter(decision_id=decision.id).delete()
        return
    assert decision.published_at is not None  # every public state was published
    names = org_names(parties)
    fields: dict[str, Any] = {
        "agency_id": decision.agency_id, "type": decision.type, "document_no": decision.document_no,
        "decided_at": decision.decided_at, "status": decision.status, "version": version.version,
        "published_at": decision.published_at, "party": decision.public_party_name,
        "public_text": version.public_text, "org_names": "\n".join(names),
        "party_grams": " ".join(sorted({g for name in names for g in grams(name)}))}
    if version.kind is DecisionVersionKind.CORRECT:
        fields["corrected_at"] = version.created_at
    await _sync_grams(decision.id, old, (fields["party_grams"], decision.decided_at))
    if before:
        await DecisionSearch.filter(decision_id=decision.id).update(**fields)
    else:
        await DecisionSearch.create(decision_id=decision.id, **fields)


async def _sync_grams(decision_id: uuid.UUID, old: tuple[str, date] | None, new: tuple[str, date] | None) -> None:
    """From the gram rows of the search row ``old`` (party_grams, decided_at) to those of ``new``:
    only the difference is written, found by the search's own index (gram, decided_at, decision_id)
    (one by decision alone would scan the table)."""
    def rows(row: tuple[str, date] | None) -> set[tuple[str, date]]:
        return set() if row is None else {(g, row[1]) for g in row[0].split()}
    before, after = rows(old), rows(new)
    if gone := before - after:
        assert old is not None
        await DecisionSearchGram.filter(gram__in=sorted(g for g, _ in gone), decided_at=old[1],
                                        decision_id=decision_id).delete()
    if added := after - before:
        await DecisionSearchGram.bulk_create(
            [DecisionSearchGram(gram=g, decided_at=day, decision_id=decision_id) for g, day in sorted(added)])


# -- the query ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    agency_id: uuid.UUID | None = None
    type: CaseType | None = None
    decided_from: date | None = None
    decided_to: date | None = None
    party: str | None = None
    document_no: str | None = None

    def digest(self) -> str:
        parts = [str(self.agency_id or ""), self.type.value if self.type else "",
                 self.decided_from.isoformat() if self.decided_from else "",
                 self.decided_to.isoformat() if self.decided_to else "", self.party or "", self.document_no or ""]
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=6).hexdigest()


# Not frozen: a frozen dataclass sets each of its 12 fields through object.__setattr__ (3 µs a hit,
# 60 µs of a 20-hit page against 0.6 µs a hit); a hit is built once and only read.
@dataclass(slots=True)
class Hit:
    decision_id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    type: CaseType
    document_no: str
    decided_at: date
    status: DecisionStatus
    version: int
    published_at: datetime
    corrected_at: datetime | None
    party: str
    text: str


@dataclass(frozen=True)
class Page:
    items: list[Hit]
    next_cursor: str | None


def checked_filters(filters: Filters) -> Filters:
    """The query as the index sees it (normalised), or a 422 saying what is wrong with it."""
    if filters.decided_from and filters.decided_to and filters.decided_from > filters.decided_to:
        raise ValidationFailed("起始日期不能晚于截止日期", code="date_range_invalid")
    party = filters.party
    if party is not None:
        party = normalize(party).strip()
        if not grams(party):
            raise ValidationFailed("当事人名称至少输入两个连续的汉字、字母或数字", code="party_too_short")
    document_no = filters.document_no.strip() if filters.document_no is not None else None
    if document_no == "":
        document_no = None
    return Filters(filters.agency_id, filters.type, filters.decided_from, filters.decided_to, party or None,
                   document_no)


_CURSOR_KEY = b"yangguang decision search cursor v1"


def _check(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_CURSOR_KEY, digest_size=8).digest()


def encode_cursor(decided_at: date, decision_id: uuid.UUID, filters: Filters) -> str:
    payload = f"{decided_at.isoformat()}|{decision_id.hex}|{filters.digest()}".encode()
    return base64.urlsafe_b64encode(payload + _check(payload)).decode().rstrip("=")


def decode_cursor(cursor: str, filters: Filters) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, check = raw[:-8], raw[-8:]
        if len(raw) <= 8 or check != _check(payload):
            raise ValueError("check value")
        day, decision, digest = payload.decode().split("|")
        key = (date.fromisoformat(day), uuid.UUID(hex=decision))
    except ValueError as exc:  # also binascii.Error and UnicodeDecodeError
        raise CursorInvalid() from exc
    if digest != filters.digest():
        raise CursorMismatch()
    return key


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_COLUMNS = ("SELECT s.decision_id, s.agency_id, a.name AS agency_name, s.type, s.document_no, s.decided_at,"
            " s.status, s.version, s.published_at, s.corrected_at, s.party, s.public_text")
_SELECT = _COLUMNS + " FROM decision_search s JOIN agency a ON a.id = s.agency_id"


def _by_gram(pg: bool, on_gram: list[str], on_row: list[str], order: str, limit: str) -> str:
    """A query of one bigram: that gram's rows newest first (the btree of decision_search_gram, read
    backwards), each joined to its search row and checked, until the page is full: a page's rows
    read, not every match. The join order is forced (a LATERAL subquery behind OFFSET 0 on
    PostgreSQL, CROSS JOIN on SQLite): from the estimate of the name check alone, PostgreSQL chose
    to hash every one of a common gram's rows against a scan of all search rows (17 ms for 科技 at
    20,000 decisions instead of 0.2)."""
    grams_where = " WHERE " + " AND ".join(on_gram)
    if pg:
        return (_COLUMNS + " FROM decision_search_gram g CROSS JOIN LATERAL (SELECT * FROM decision_search s"
                " WHERE " + " AND ".join(["s.decision_id = g.decision_id", *on_row]) + " OFFSET 0) s"
                " JOIN agency a ON a.id = s.agency_id" + grams_where + order + limit)
    return (_COLUMNS + " FROM decision_search_gram g CROSS JOIN decision_search s JOIN agency a ON a.id = s.agency_id"
            + grams_where + " AND " + " AND ".join(["s.decision_id = g.decision_id", *on_row]) + order + limit)


# A party filter is answered one of two ways, whichever reads fewer rows. The name index finds every
# decision with the name and sorts them: about ``m`` rows for ``m`` matches. Walking the decisions
# newest first and checking each one's names stops at the page's end: about ``page × n / m`` rows of
# ``n``. The index is cheaper while ``m`` is below sqrt(page × n) (1,450 matches in 100,000
# decisions): a rare name (a company's own) takes the index, a common word (科技, 餐饮: thousands of
# matches, which the index would all sort) takes the walk. ``m`` is counted from the index, capped
# just above that bound. Both give the same page (the test compares them with a plain LIKE scan).
def walk_is_cheaper(matches: int, rows: int, page_size: int) -> bool:
    return matches * matches > (page_size + 1) * rows


def _wanted(party: str) -> list[str]:
    """The bigrams the index is asked for, each once."""
    return sorted(set(grams(party)))


def _fts_query(asked: list[str]) -> str:
    return " ".join(f'"{g}"' for g in asked)  # grams are letters and digits: no quoting needed


_PG_GRAMS = "string_to_array(s.party_grams, ' ') @> {}::text[]"  # the expression the GIN index is built on
_PG_GRAM_INDEX = "decision_search_grams"  # that index (migrations 0013, 0018)


# Figures about the data that steer the plan, never the results (a stale one costs at worst a slower
# plan): the number of decisions (the walk-or-index choice) and, on PostgreSQL, the bigrams' frequencies
# (which grams the index is asked for). Each is read at most every 30 s per database.
_STATS_TTL = 30.0
_stats: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, Any]]] = weakref.WeakKeyDictionary()


async def _every_30s(conn: Any, name: str, read: Callable[[], Awaitable[Any]]) -> Any:
    now, known = time.monotonic(), _stats.setdefault(conn, {})
    if name in known and now - known[name][0] < _STATS_TTL:
        return known[name][1]
    value = await read()
    known[name] = (now, value)
    return value


async def _size(conn: Any) -> int:
    async def read() -> int:
        rows = await conn.execute_query_dict("SELECT max(id) AS n FROM decision_search")
        return int(rows[0]["n"] or 0)
    return int(await _every_30s(conn, "size", read))


_SQLITE_SAMPLE = 2000  # search rows whose grams give SQLite's shares (~6 ms at 100,000 decisions)


async def _gram_frequencies(conn: Any) -> dict[str, float]:
    """The share of decisions holding each of the common bigrams. PostgreSQL: the most common ones (up
    to 1,000 at the default statistics target) from ANALYZE's statistics of the GIN index expression;
    empty before the first ANALYZE (autovacuum runs one as the table grows). SQLite keeps no such
    statistics: the grams of the newest ``_SQLITE_SAMPLE`` search rows are counted instead, so a gram
    missing from them is rarer than one in 2,000 (taken as half that, like PostgreSQL's untracked)."""
    if conn.capabilities.dialect != "postgres":
        async def sample() -> dict[str, float]:
            rows = await conn.execute_query_dict(
                "SELECT party_grams FROM decision_search ORDER BY id DESC LIMIT ?", [_SQLITE_SAMPLE])
            counts = Counter(g for row in rows for g in set(str(row["party_grams"]).split()))
            return {g: c / len(rows) for g, c in counts.items()}
        shares: dict[str, float] = await _every_30s(conn, "gram frequencies", sample)
        return shares

    async def read() -> dict[str, float]:
        rows = await conn.execute_query_dict(
            "SELECT most_common_elems::text::text[] AS grams, most_common_elem_freqs AS freqs FROM pg_stats"
            f" WHERE schemaname = current_schema() AND tablename = '{_PG_GRAM_INDEX}'")
        if not rows or rows[0]["grams"] is None:
            return {}
        # most_common_elem_freqs holds one share per gram, then the minimum, maximum and null share.
        return dict(zip(rows[0]["grams"], map(float, rows[0]["freqs"]), strict=False))
    frequencies: dict[str, float] = await _every_30s(conn, "gram frequencies", read)
    return frequencies


def expected_matches(grams: list[str], frequencies: dict[str, float], rows: int,
                     untracked: float | None = None) -> float:
    """Decisions expected to hold every one of ``grams``: ``rows`` × their shares, independence assumed,
    a gram missing from the statistics (rarer than all they hold) taken as half the least common
    share (``untracked``, computed when not given): PostgreSQL's own estimate for ``@>``, without
    asking the planner (an EXPLAIN per query)."""
    if untracked is None:
        untracked = min(frequencies.values()) / 2
    return rows * math.prod(frequencies.get(g, untracked) for g in grams)


def rarest_grams(wanted: list[str], frequencies: dict[str, float], rows: int) -> list[str]:
    """The grams the GIN index is asked for: the rarest first, until fewer than one decision is
    expected to hold them all. A full company name's 有限, 限公, 公司 are in most rows: asking for them
    reads their long posting lists for nothing the rarer grams and the substring check do not already
    decide (a full name's index scan: 145 buffers, 1.9 ms with every gram; 21 buffers, 0.2 ms with its
    three rarest, at 1,000,000 decisions). Without statistics every gram is asked for."""
    if not frequencies:
        return wanted
    untracked = min(frequencies.values()) / 2  # once: SQLite's sample holds ~2,400 grams
    chosen: list[str] = []
    for gram in sorted(wanted, key=lambda g: frequencies.get(g, untracked)):  # stable: ties by text
        if chosen and expected_matches(chosen, frequencies, rows, untracked) < 1:
            break
        chosen.append(gram)
    return sorted(chosen)


async def _asked(conn: Any, party: str, rows: int) -> list[str]:
    return rarest_grams(_wanted(party), await _gram_frequencies(conn), rows)


async def _matches(conn: Any, pg: bool, party: str, asked: list[str], cap: int, rows: int) -> int:
    """How many decisions the name index gives for ``party``, up to ``cap``. PostgreSQL: estimated from
    the grams' shares (a count reads a heap row per match; a counting query with LIMIT measured up to
    530 ms p95 at 1,000,000 rows), or the planner's estimate before any statistics; SQLite: counted in
    the FTS index itself for the ``asked`` grams (those the page's query will ask), no row read."""
    if pg:
        frequencies = await _gram_frequencies(conn)
        if frequencies:
            return min(cap, math.ceil(expected_matches(_wanted(party), frequencies, rows)))
        plan_rows = await conn.execute_query("EXPLAIN (FORMAT JSON) SELECT 1 FROM decision_search s WHERE "
                                             + _PG_GRAMS.format("$1"), [_wanted(party)])
        plan = plan_rows[1][0][0]
        plan = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
        return min(cap, int(plan[0]["Plan"]["Plan Rows"]))
    counted = await conn.execute_query_dict(
        "SELECT count(*) AS m FROM (SELECT rowid FROM decision_search_fts WHERE decision_search_fts MATCH ?"
        " LIMIT ?)", [_fts_query(asked), cap])
    return int(counted[0]["m"])


async def search(filters: Filters, cursor: str | None = None, *, page_size: int = PAGE_SIZE,
                 baseline: bool = False) -> Page:
    """One page of public decisions matching every filter given, newest decision date first.
    ``baseline``: the same query answered by a plain ``LIKE`` scan of the names (bench/ only)."""
    filters = checked_filters(filters)
    after = decode_cursor(cursor, filters) if cursor else None
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"

    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}" if pg else f"?{len(params)}"  # numbered: conditions are placed out of order

    def db_uuid(value: uuid.UUID) -> Any:
        return value if pg else str(value)

    def db_date(value: date) -> Any:
        return value if pg else value.isoformat()

    # One distinct bigram (星辰, 科技, 星辰星辰…) walks its gram rows (``_by_gram``): never more rows read
    # than the name index would give, usually a page's. Not with a document number: its own index
    # finds the one row, where a common gram's walk could read half the table before reaching it.
    # Longer queries keep the name index (few candidates by their rarest grams) or the walk.
    by_gram = (filters.party is not None and not baseline and filters.document_no is None
               and len(_wanted(filters.party)) == 1)
    key = "g" if by_gram else "s"  # the page's order and range: on the rows walked

    on_key: list[str] = []  # conditions on (decided_at, decision_id), and the gram
    where: list[str] = []  # conditions on the search row
    if by_gram:
        assert filters.party is not None
        on_key.append(f"g.gram = {param(_wanted(filters.party)[0])}")
    if filters.agency_id is not None:
        where.append(f"s.agency_id = {param(db_uuid(filters.agency_id))}")
    if filters.type is not None:
        where.append(f"s.type = {param(filters.type.value)}")
    if filters.decided_from is not None:
        on_key.append(f"{key}.decided_at >= {param(db_date(filters.decided_from))}")
    if filters.decided_to is not None:
        on_key.append(f"{key}.decided_at <= {param(db_date(filters.decided_to))}")
    if filters.document_no is not None:
        where.append(f"s.document_no = {param(filters.document_no)}")
    if after is not None:
        last = f"({param(db_date(after[0]))}, {param(db_uuid(after[1]))})"
        on_key.append(f"({key}.decided_at, {key}.decision_id) < {last}")
    order = f" ORDER BY {key}.decided_at DESC, {key}.decision_id DESC"
    through_index = False
    if filters.party is not None:
        if baseline:
            where.append(f"s.org_names LIKE {param(_like(filters.party))} ESCAPE '\\'")
        else:
            asked: list[str] = []
            if not by_gram:
                size = await _size(conn)
                cap = math.isqrt((page_size + 1) * size) + 1
                asked = await _asked(conn, filters.party, size)  # once: the count and the page ask the same
                through_index = not walk_is_cheaper(await _matches(conn, pg, filters.party, asked, cap, size),
                                                    size, page_size)
            if through_index and pg:
                where.append(_PG_GRAMS.format(param(asked)))
            elif through_index:  # FTS5 reads the asked grams' doclists in step (有限公司's: 60 % of rows)
                where.append("s.id IN (SELECT rowid FROM decision_search_fts WHERE decision_search_fts MATCH "
                             f"{param(_fts_query(asked))})")
            # The names are checked whole on every path: on the walk it is the only check, and a query
            # of one gram can be more than it (星辰·).
            where.append(f"{'strpos' if pg else 'instr'}(s.org_names, {param(filters.party)}) > 0")
    limit = f" LIMIT {param(page_size + 1)}"
    if by_gram:
        rows = await conn.execute_query_dict(_by_gram(pg, on_key, where, order, limit), params)
        return _page(rows, page_size, filters)
    where = on_key + where
    conditions = " WHERE " + " AND ".join(where) if where else ""
    if through_index:
        # The index's matches first, then the page among them, so that no planner can turn it into a
        # walk of the date index probing each row (a plain ORDER BY … LIMIT took 390–440 ms p95 on
        # PostgreSQL for a name with one or no match in 1,000,000 decisions, most likely that way).
        materialized = " MATERIALIZED" if pg else ""
        sql = (f"WITH m AS{materialized} (SELECT s.id, s.decided_at, s.decision_id FROM decision_search s"
               f"{conditions}), top AS (SELECT id FROM m ORDER BY decided_at DESC, decision_id DESC"
               f"{limit}) " + _SELECT + " WHERE s.id IN (SELECT id FROM top)" + order)
    else:
        sql = _SELECT + conditions + order + limit
    return _page(await conn.execute_query_dict(sql, params), page_size, filters)


def _page(rows: list[dict[str, Any]], page_size: int, filters: Filters) -> Page:
    hits = [_hit(row) for row in rows[:page_size]]
    more = len(rows) > page_size
    return Page(hits, encode_cursor(hits[-1].decided_at, hits[-1].decision_id, filters) if more else None)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else _parsed_uuid(str(value))


@functools.lru_cache(maxsize=8192)
def _parsed_uuid(text: str) -> uuid.UUID:
    # SQLite answers ids as text; uuid.UUID() costs ~1.3 µs in Python, and the pages people read most
    # (the newest decisions, an agency's) carry the same ids request after request.
    return uuid.UUID(text)


# Enum(value) walks the enum's machinery (~0.5 µs); a hit has two.
_TYPES = {t.value: t for t in CaseType}
_STATUSES = {s.value: s for s in DecisionStatus}


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _hit(row: dict[str, Any]) -> Hit:
    return Hit(
        decision_id=_uuid(row["decision_id"]), agency_id=_uuid(row["agency_id"]), agency_name=row["agency_name"],
        type=_TYPES[row["type"]], document_no=row["document_no"], decided_at=_date(row["decided_at"]),
        status=_STATUSES[row["status"]], version=int(row["version"]),
        published_at=_datetime(row["published_at"]),
        corrected_at=None if row["corrected_at"] is None else _datetime(row["corrected_at"]),
        party=row["party"], text=row["public_text"])
