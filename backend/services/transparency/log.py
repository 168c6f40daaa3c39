"""The log itself: append a leaf inside the caller's transaction; read entries, roots and proofs.

A leaf's hashed content is an *envelope* (canonical JSON, RFC 8785)::

    {"agency_id": "<uuid>" | null, "data": {<the caller's content>}, "index": 17,
     "kind": "decision_event", "ref": "<source row id>"}

so the kind, the source row, the agency and the position are covered by the hash as well as the
content: a row moved, relabelled or given to another agency no longer matches its own hash.
leaf_hash = SHA-256(0x00 ‖ envelope bytes); the envelope text is stored as it was hashed.

Appends are serialised: on PostgreSQL by ``pg_advisory_xact_lock`` (held until the caller's
transaction ends, so indexes are dense across concurrent transactions: a rolled-back transaction
takes its leaf with it and the next one reuses the index); SQLite has one writer. Each append reads
the tree's size and the few peaks its leaf completes in one statement and writes one row; on
PostgreSQL the function ``yg_log_append`` of migration 0005 does the lock and the same step in one
round trip (tests check both against an independent verifier, and ``audit verify`` recomputes both).
Everything is raw SQL on the connection of the current transaction; no ORM objects.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import rfc8785
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from backend import atomic
from backend.clock import Clock
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.models.enums import LeafKind
from backend.services.transparency import tree

# Advisory lock keys (bigint): "yglog" + 1 for appends, + 2 for checkpoints.
APPEND_LOCK = 0x79_67_6C_6F_67_00_00_01
CHECKPOINT_LOCK = 0x79_67_6C_6F_67_00_00_02
MAX_REF = 128
HEX = 64  # characters of one hash in hex


@dataclass(frozen=True)
class Leaf:
    leaf_index: int
    leaf_hash: str  # hex
    kind: str
    ref: str
    agency_id: uuid.UUID | None


@dataclass(frozen=True)
class Entry:
    leaf_index: int
    kind: str
    leaf_hash: str
    content: dict[str, Any]  # the envelope: hashing its RFC 8785 form gives leaf_hash


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    audit_path: list[str]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class LeafIndexOutOfRange(ValidationFailed):
    code = "leaf_index_out_of_range"
    message = "叶序号必须小于树的大小"


class TreeSizeBeyondLog(ValidationFailed):
    code = "tree_size_beyond_log"
    message = "请求的树大小超过日志当前的大小"


class SizesOutOfOrder(ValidationFailed):
    code = "consistency_sizes_out_of_order"
    message = "一致性证明要求 0 < first ≤ second"


class LogDamaged(DomainError):
    """A stored node the log needs is missing: the database was changed outside the log."""

    status = 500
    code = "log_damaged"
    message = "透明日志的存储不完整，请运行 yangguang audit verify 检查"


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON (UTF-8). Datetimes and other non-JSON values are refused: callers
    put strings in (``leaf_time``)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValueError(f"leaf content is not canonicalisable JSON: {exc}") from exc


def leaf_time(at: Any) -> str:
    """A datetime as leaf content: Asia/Shanghai, ISO 8601 with microseconds (deterministic)."""
    from backend.clock import SHANGHAI

    return str(at.astimezone(SHANGHAI).isoformat(timespec="microseconds"))


def envelope(index: int, kind: str, ref: str, agency_id: uuid.UUID | str | None,
             data: Mapping[str, Any]) -> dict[str, Any]:
    return {"agency_id": None if agency_id is None else str(agency_id), "data": dict(data), "index": index,
            "kind": kind, "ref": ref}


def _kind(kind: str) -> str:
    try:
        return LeafKind(kind).value
    except ValueError:
        raise ValueError(f"unknown leaf kind {kind!r}; declared kinds: {[k.value for k in LeafKind]}") from None


def _check(kind: str, content: Any, ref: Any) -> str:
    if not isinstance(content, dict):
        raise TypeError("leaf content must be a dict")
    if not isinstance(ref, str) or not ref or len(ref) > MAX_REF:
        raise ValueError(f"ref must be a non-empty string of at most {MAX_REF} characters")
    return _kind(kind)


def _pg(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


# The tree's size and the leaf rows holding the peaks the next leaf completes, in one statement:
# with n leaves, leaf n completes one node per trailing 1 bit of n; its sibling at level b is the
# peak stored on leaf ((n >> b) << b) - 1. Bits b with (n + 1) mod 2^(b+1) == 0 are those bits.
_TAIL_SQL = """
WITH RECURSIVE t(n) AS (SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM log_leaf),
bits(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM bits WHERE b < 61)
SELECT t.n, bits.b, l.leaf_hash, l.nodes FROM t
LEFT JOIN bits ON ((t.n + 1) & ((CAST(1 AS BIGINT) << (bits.b + 1)) - 1)) = 0
LEFT JOIN log_leaf l ON l.leaf_index = ((t.n >> bits.b) << bits.b) - 1
"""

_INSERT_SQL = ('INSERT INTO log_leaf (leaf_index, kind, ref, agency_id, content, leaf_hash, nodes, created_at) '
               'VALUES ({})')


async def append(kind: str, content: dict[str, Any], *, agency_id: uuid.UUID | None, ref: str,
                 clock: Clock | None = None) -> Leaf:
    """Append one leaf. Call it inside the transaction that makes the change it records (so both
    commit or neither does); outside one it opens its own. Returns the leaf's index and hash.

    ``content`` must be JSON: strings (dates via ``leaf_time``), integers within ±2^53, floats,
    booleans, null, lists and objects with string keys.
    """
    _check(kind, content, ref)
    conn = connections.get("default")
    if isinstance(conn, TransactionalDBClient):
        return await _append(conn, kind, content, agency_id, ref, clock or Clock())
    async with in_transaction("default") as tx:
        return await _append(tx, kind, content, agency_id, ref, clock or Clock())


async def _append(conn: BaseDBAsyncClient, kind: str, content: dict[str, Any], agency_id: uuid.UUID | None,
                  ref: str, clock: Clock) -> Leaf:
    return await atomic.drive(conn, append_steps(conn.capabilities.dialect, kind, content, agency_id, ref,
                                                 clock.now()))


def append_steps(dialect: str, kind: str, content: dict[str, Any], agency_id: uuid.UUID | None, ref: str,
                 now: datetime) -> atomic.Program[Leaf]:
    """The append as statements (a program for ``backend.atomic.run``, or driven by ``append``): call it
    inside the transaction of the change. On PostgreSQL one round trip (migration 0005's
    ``yg_log_append`` takes the lock and does the same step); on SQLite the tail read, then the leaf's
    insert. ``kind``, ``ref`` and ``content`` as for ``append``."""
    kind = _check(kind, content, ref)
    at = now.astimezone(UTC)
    if dialect == "postgres":
        prefix, suffix = envelope_around_index(kind, ref, agency_id, content)
        try:
            rows = yield ("SELECT leaf_index, leaf_hash FROM yg_log_append($1, $2, $3, $4, $5, $6, $7)",
                          [APPEND_LOCK, kind, ref, agency_id, prefix, suffix, at])
        except Exception as exc:  # asyncpg's error for SQLSTATE YG001, whatever tortoise wraps it in
            if "transparency log damaged" in str(exc):
                raise LogDamaged() from exc
            raise
        return Leaf(int(rows[0][0]), rows[0][1], kind, ref, agency_id)
    rows = yield _TAIL_SQL, []
    index = int(rows[0][0])
    stored: dict[int, tuple[str, str]] = {}
    for row in rows:
        if row[1] is not None:
            if row[2] is None:
                raise LogDamaged()
            stored[((index >> row[1]) << row[1]) - 1] = (row[2], row[3])
    text = canonical(envelope(index, kind, ref, agency_id, content))
    digest = tree.leaf_hash(text)
    completed = tree.completed_nodes(index, digest, _getter(stored))
    values = [index, kind, ref, str(agency_id) if agency_id else None, text.decode("utf-8"), digest.hex(),
              "".join(h.hex() for h in completed), at]
    yield _INSERT_SQL.format(_params(False, len(values))), values
    return Leaf(index, digest.hex(), kind, ref, agency_id)


def envelope_around_index(kind: str, ref: str, agency_id: uuid.UUID | str | None,
                          data: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical envelope as (text before the index, text after it): RFC 8785 orders the keys
    agency_id, data, index, kind, ref, and writes an integer index as its decimal digits."""
    a = canonical(None if agency_id is None else str(agency_id)).decode()
    d = canonical(dict(data)).decode()
    k, r = canonical(kind).decode(), canonical(ref).decode()
    return f'{{"agency_id":{a},"data":{d},"index":', f',"kind":{k},"ref":{r}}}'


class LoggedRow(Protocol):
    leaf_index: int | None

    async def save(self, *args: Any, **kwargs: Any) -> None: ...


async def append_row(row: LoggedRow, kind: str, content: dict[str, Any], *, agency_id: uuid.UUID | None,
                     ref: str, clock: Clock | None = None) -> Leaf:
    """Append the leaf of a domain row, then write the row holding its leaf index: the row is written
    once, never updated afterwards. Call it inside the transaction of the change."""
    leaf = await append(kind, content, agency_id=agency_id, ref=ref, clock=clock)
    row.leaf_index = leaf.leaf_index
    await row.save()
    return leaf


def _params(pg: bool, count: int, start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count)) if pg else ", ".join("?" * count)


def _getter(stored: Mapping[int, tuple[str, str]]) -> tree.NodeGetter:
    """Node (level, index) from the leaf rows that completed them: {leaf_index: (leaf_hash, nodes)}."""
    def get(level: int, index: int) -> bytes:
        row = stored.get(tree.last_leaf_of(level, index))
        if row is None:
            raise LogDamaged()
        text = row[0] if level == 0 else row[1][(level - 1) * HEX: level * HEX]
        if len(text) != HEX:
            raise LogDamaged()
        return bytes.fromhex(text)

    return get


# Complete subtrees never change once their last leaf is committed, so the upper ones (64 leaves and
# more: about n/32 nodes) are kept per database client, loaded once (``_warm``: one row in 64, in a few
# queries) and then as the log grows. A proof then reads only its lowest levels from the database, and
# costs about the same at 10,000 and at 1,000,000 leaves. Filled only outside transactions (a
# transaction's own leaves may still roll back); never used to sign a checkpoint.
CACHE_MIN_LEVEL = 6
CACHE_MAX_NODES = 500_000
WARM_CHUNK = 2000


@dataclass
class _Cache:
    nodes: dict[tuple[int, int], bytes]
    warmed: int = 0  # the upper nodes completed by leaves below this are loaded
    level: int = CACHE_MIN_LEVEL  # the lowest level warmed (raised for very large logs)


_node_cache: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()


def _cache_for(conn: BaseDBAsyncClient) -> _Cache:
    client = getattr(conn, "_parent", conn)  # a transaction's wrapper shares its client's cache
    cache = _node_cache.get(client)
    if cache is None:
        cache = _node_cache[client] = _Cache({})
    return cache


async def _warm(conn: BaseDBAsyncClient, size: int) -> None:
    """Load the upper nodes completed by the committed leaves [warmed, size) into the cache."""
    cache = _cache_for(conn)
    if isinstance(conn, TransactionalDBClient) or size <= cache.warmed:
        return
    while (size >> cache.level) > CACHE_MAX_NODES // 2:
        cache.level += 1
    step = 1 << cache.level
    first = ((cache.warmed + step) // step) * step - 1  # the first leaf at or past `warmed` ending a block
    ids = list(range(first, size, step))
    pg = _pg(conn)
    for start in range(0, len(ids), WARM_CHUNK):
        chunk = ids[start: start + WARM_CHUNK]
        if pg:
            _, rows = await conn.execute_query(
                "SELECT leaf_index, nodes FROM log_leaf WHERE leaf_index = ANY($1::bigint[])", [chunk])
        else:
            _, rows = await conn.execute_query(
                f"SELECT leaf_index, nodes FROM log_leaf WHERE leaf_index IN ({_params(False, len(chunk))})", chunk)
        for leaf_index, nodes in rows:
            for level in range(cache.level, len(nodes) // HEX + 1):
                cache.nodes[(level, int(leaf_index) >> level)] = bytes.fromhex(nodes[(level - 1) * HEX: level * HEX])
    cache.warmed = size


async def _fetch(conn: BaseDBAsyncClient, nodes: Iterable[tuple[int, int]], *, cached: bool = True
                 ) -> tree.NodeGetter:
    """``nodes`` from the cache and, in one query, from the rows holding the others; a getter over them.
    ``cached=False``: everything from the database, as it stands now (before signing a checkpoint)."""
    cache = _cache_for(conn).nodes if cached else {}
    found: dict[tuple[int, int], bytes] = {}
    missing = []
    for node in nodes:
        h = cache.get(node)
        if h is None:
            missing.append(node)
        else:
            found[node] = h
    ids = sorted({tree.last_leaf_of(level, index) for level, index in missing})
    if ids:
        if _pg(conn):
            _, rows = await conn.execute_query(
                "SELECT leaf_index, leaf_hash, nodes FROM log_leaf WHERE leaf_index = ANY($1::bigint[])", [ids])
        else:
            _, rows = await conn.execute_query(
                f"SELECT leaf_index, leaf_hash, nodes FROM log_leaf WHERE leaf_index IN ({_params(False, len(ids))})",
                ids)
        from_rows = _getter({int(r[0]): (r[1], r[2]) for r in rows})
        keep = cached and not isinstance(conn, TransactionalDBClient) and len(cache) < CACHE_MAX_NODES
        for node in missing:
            found[node] = h = from_rows(*node)
            if keep and node[0] >= CACHE_MIN_LEVEL:
                cache[node] = h

    def get(level: int, index: int) -> bytes:
        h = found.get((level, index))
        if h is None:
            raise LogDamaged()
        return h

    return get


def _conn() -> BaseDBAsyncClient:
    return connections.get("default")


async def tree_size(conn: BaseDBAsyncClient | None = None) -> int:
    """The number of committed leaves (as this connection sees them)."""
    _, rows = await (conn or _conn()).execute_query("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM log_leaf")
    return int(rows[0][0])


async def root_at(size: int, conn: BaseDBAsyncClient | None = None, *, cached: bool = True) -> bytes:
    """MTH of the first ``size`` leaves, from O(log size) stored nodes."""
    conn = conn or _conn()
    return tree.root(size, await _fetch(conn, tree.root_nodes(size), cached=cached))


async def _check_size(size: int, conn: BaseDBAsyncClient) -> None:
    if size > await tree_size(conn):
        raise TreeSizeBeyondLog()


async def inclusion_proof(leaf_index: int, size: int) -> InclusionProof:
    if size < 1 or leaf_index < 0:
        raise ValidationFailed("树大小至少为 1，叶序号不能为负")
    if leaf_index >= size:
        raise LeafIndexOutOfRange()
    conn = _conn()
    await _check_size(size, conn)
    await _warm(conn, size)

    def compute(g: tree.NodeGetter) -> tuple[bytes, list[bytes], bytes]:
        return g(0, leaf_index), tree.inclusion_path(leaf_index, size, g), tree.root(size, g)

    needed = tree.inclusion_nodes(leaf_index, size) | tree.root_nodes(size) | {(0, leaf_index)}
    leaf, path, root = compute(await _fetch(conn, needed))
    return InclusionProof(leaf_index, size, leaf.hex(), root.hex(), [h.hex() for h in path])


async def consistency_proof(first: int, second: int) -> ConsistencyProof:
    if first < 1 or second < 1:
        raise SizesOutOfOrder("一致性证明的树大小必须至少为 1", code="consistency_size_zero")
    if first > second:
        raise SizesOutOfOrder()
    conn = _conn()
    await _check_size(second, conn)
    await _warm(conn, second)

    def compute(g: tree.NodeGetter) -> tuple[bytes, bytes, list[bytes]]:
        return tree.root(first, g), tree.root(second, g), tree.consistency_path(first, second, g)

    needed = tree.consistency_nodes(first, second) | tree.root_nodes(first) | tree.root_nodes(second)
    first_root, second_root, path = compute(await _fetch(conn, needed))
    return ConsistencyProof(first, second, first_root.hex(), second_root.hex(), [h.hex() for h in path])


async def entry(leaf_index: int, agency_scope: uuid.UUID | None) -> Entry:
    """One leaf. ``agency_scope``: None for a supervisor (every leaf), else the caller's agency (its
    own leaves only; leaves without an agency are the supervisor's)."""
    conn = _conn()
    p = "$1" if _pg(conn) else "?"
    _, rows = await conn.execute_query(
        f"SELECT leaf_index, kind, agency_id, content, leaf_hash FROM log_leaf WHERE leaf_index = {p}", [leaf_index])
    if not rows:
        raise NotFound("未找到该日志条目", code="log_entry_not_found")
    row = rows[0]
    if agency_scope is not None and (row[2] is None or str(row[2]) != str(agency_scope)):
        raise NotFound("未找到该日志条目", code="log_entry_not_found")
    return Entry(int(row[0]), row[1], row[4], orjson.loads(row[3]))
