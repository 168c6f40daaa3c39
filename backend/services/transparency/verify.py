"""The whole-log audit behind ``yangguang audit verify``.

It reads every leaf with raw SQL in batches (index order), recomputes each leaf hash from the
stored content, rebuilds the tree from those hashes (a stack of peaks), compares every stored
subtree node, checks every stored checkpoint's signature and that its root equals the rebuilt root
at its size, and optionally checks a checkpoint file (as served by ``/log/checkpoint``): signed by
one of our keys and consistent with the log as it is today.

Every problem names the leaf (or checkpoint) and its kind:

- ``edited``: a leaf's content no longer hashes to its stored hash, its kind/ref/agency columns
  differ from what was hashed, or stored subtree hashes / a signed checkpoint's root no longer match
  what the leaves give (history rewritten with hashes recomputed);
- ``deleted``: an index is missing: in the middle of the log, or at its end when a checkpoint
  (stored or given) covered it;
- ``inserted``: a row the log did not write (no leaf envelope), or a second row claiming an index;
- ``reordered``: a row sits at another index than the one hashed into it, out of sequence;
- ``bad_signature``: a stored or given checkpoint not signed by any of the log's keys;
- ``inconsistent``: the given checkpoint's root differs from the log's root at its size (a fork).

Leaf *sources* add domain checks without the log importing the domain: a ``LeafSources``
registry maps a leaf kind to an async function that gets batches of that kind's leaves and
returns problems (e.g. "the case record row no longer says this", "the evidence file changed").
Consequences of a reported problem (every node above an edited leaf, every node after a deleted
one) are not reported again.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import hashlib
import uuid
from array import array
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from tortoise import connections

from backend.models.enums import LeafKind
from backend.services.transparency import tree
from backend.services.transparency.checkpoints import NoteError, VerifierKey, open_checkpoint

ENVELOPE_KEYS = frozenset({"agency_id", "data", "index", "kind", "ref"})
MAX_LINES_PER_KIND = 200  # further problems of one kind are summed up in one line


@dataclass(frozen=True)
class Problem:
    kind: str  # edited | deleted | inserted | reordered | bad_signature | inconsistent | a source's own
    detail: str  # Chinese, one line
    leaf_index: int | None = None
    checkpoint: str | None = None  # "#12 (size 340)" or "given (size 340)"

    def line(self) -> str:
        if self.leaf_index is not None:
            where = f"leaf {self.leaf_index}"
        else:
            where = f"checkpoint {self.checkpoint}" if self.checkpoint is not None else "row"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class LeafRecord:
    """What a leaf source gets: the leaf as hashed (only leaves whose hash and envelope are intact)."""

    leaf_index: int
    kind: str
    ref: str
    agency_id: uuid.UUID | None
    data: dict[str, Any]


LeafSource = Callable[[Sequence[LeafRecord]], Awaitable[Iterable[Problem]]]


class LeafSources:
    """Per leaf kind, the function that recomputes what the leaf should say from the domain's rows
    or files and reports the differences. Registered by the assembly (``backend/cli.py``)."""

    def __init__(self) -> None:
        self._by_kind: dict[str, LeafSource] = {}

    def register(self, kind: str, source: LeafSource) -> None:
        kind = LeafKind(kind).value
        if kind in self._by_kind:
            raise ValueError(f"a source for {kind} is already registered")
        self._by_kind[kind] = source

    def get(self, kind: str) -> LeafSource | None:
        return self._by_kind.get(kind)

    def __len__(self) -> int:
        return len(self._by_kind)


@dataclass
class Report:
    size: int = 0  # rows read
    root: bytes = tree.EMPTY_ROOT  # MTH of the recomputed leaf hashes, in index order
    checkpoints: int = 0  # stored checkpoints checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Cp:
    label: str
    size: int
    root: bytes | None  # None: the note did not open (reported already)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The audit allocates millions of short-lived dicts, tuples and rows that form no reference
    cycles (reference counting frees each at once); the cyclic collector's passes over the batches
    alive at a time cost about a third of a run. It is paused for the audit and restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def audit(keys: list[VerifierKey], *, given: str | bytes | None = None,
                sources: LeafSources | None = None, batch: int = 20_000) -> Report:
    """Audit the whole log against ``keys`` (every public key the log used), the stored checkpoints,
    ``given`` (a checkpoint kept elsewhere, as served by /log/checkpoint) and the leaf ``sources``."""
    with _no_cycle_collection():
        return await _audit(keys, given, sources, batch)


async def _audit(keys: list[VerifierKey], given: str | bytes | None, sources: LeafSources | None,
                 batch: int) -> Report:
    report = Report()
    problems = report.problems
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"

    # Checkpoints first: their sizes are where the rebuilt root is compared.
    cps: list[_Cp] = []
    _, rows = await conn.execute_query(
        "SELECT id, tree_size, root_hash, note FROM log_checkpoint ORDER BY tree_size, id")
    for cid, size, root_hex, note in rows:
        label = f"#{cid} (size {size})"
        report.checkpoints += 1
        try:
            opened = open_checkpoint(note, keys)
        except NoteError as exc:
            problems.append(Problem("bad_signature", str(exc), checkpoint=label))
            cps.append(_Cp(label, int(size), None))
            continue
        if opened.tree_size != size or opened.root_hash.hex() != root_hex:
            problems.append(Problem("edited", "检查点记录的树大小或根哈希与其签名内容不符", checkpoint=label))
        cps.append(_Cp(label, opened.tree_size, opened.root_hash))
    if given is not None:
        try:
            opened = open_checkpoint(given, keys)
            cps.append(_Cp(f"given (size {opened.tree_size})", opened.tree_size, opened.root_hash))
        except NoteError as exc:
            problems.append(Problem("bad_signature", str(exc), checkpoint="given"))
    by_size: dict[int, list[_Cp]] = defaultdict(list)
    for cp in cps:
        by_size[cp.size].append(cp)
    roots: dict[int, bytes] = {}  # rebuilt root at each checkpoint size
    if 0 in by_size:
        roots[0] = tree.EMPTY_ROOT

    peaks = tree.Peaks()
    columns = array("q")  # leaf_index column of each row, in order
    claims = array("q")  # index hashed into each row's envelope (-1: none)
    flagged: set[int] = set()  # positions with a leaf-level problem
    node_mismatches: list[tuple[int, int, int]] = []  # (position, level, first leaf) — first ones only
    node_mismatch_count = 0
    pending: dict[str, list[LeafRecord]] = defaultdict(list)
    agencies: dict[str, uuid.UUID] = {}  # a few agencies, a million leaves
    sha256 = hashlib.sha256
    loads = orjson.loads
    sql = ("SELECT leaf_index, kind, ref, agency_id, content, leaf_hash, nodes FROM log_leaf "
           + ("WHERE leaf_index > $1 ORDER BY leaf_index LIMIT $2" if pg
              else "WHERE leaf_index > ? ORDER BY leaf_index LIMIT ?"))
    after = -(2 ** 63)
    checks = _Checks(sources, problems)
    try:
        while True:
            _, rows = await conn.execute_query(sql, [after, batch])
            if not rows:
                break
            for r, kind, ref, agency, content, stored_hash, nodes in rows:
                position = peaks.size
                digest = sha256(b"\x00" + content.encode()).digest()
                claim = -1
                env: Any = None
                try:
                    env = loads(content)
                except orjson.JSONDecodeError:
                    pass
                intact_envelope = (isinstance(env, dict) and env.keys() == ENVELOPE_KEYS
                                   and type(env["index"]) is int and isinstance(env["data"], dict))
                if digest.hex() != stored_hash:
                    problems.append(Problem("edited", "内容与存储的叶哈希不符（内容被修改）", r))
                    flagged.add(position)
                elif not intact_envelope:
                    problems.append(Problem("inserted", "不是日志写入的条目（没有有效的叶信封）", r))
                    flagged.add(position)
                elif (env["kind"], env["ref"], env["agency_id"]) != (kind, ref,
                                                                     None if agency is None else str(agency)):
                    problems.append(Problem("edited", "种类、来源或机构列与已哈希的内容不符", r))
                    flagged.add(position)
                if intact_envelope:
                    claim = env["index"]
                    if sources is not None and position not in flagged and sources.get(kind) is not None:
                        agency_id = agencies.get(env["agency_id"])
                        if agency_id is None and env["agency_id"] is not None:
                            agency_id = agencies[env["agency_id"]] = uuid.UUID(env["agency_id"])
                        pending[kind].append(LeafRecord(r, kind, env["ref"], agency_id, env["data"]))
                        if len(pending[kind]) >= batch:
                            await checks.submit(kind, pending)
                columns.append(r)
                claims.append(claim)
                completed = peaks.push(digest)
                if b"".join(completed).hex() != nodes:
                    node_mismatch_count += 1
                    if len(node_mismatches) < 1000:
                        level = next((lv for lv, h in enumerate(completed, 1)
                                      if nodes[(lv - 1) * 64: lv * 64] != h.hex()), 0)
                        node_mismatches.append((position, level, (position >> level) << level))
                if peaks.size in by_size:
                    roots[peaks.size] = peaks.root()
            after = rows[-1][0]
        for kind in list(pending):
            await checks.submit(kind, pending)
        await checks.wait()
    finally:
        checks.cancel()
    report.size = peaks.size
    report.root = peaks.root()

    first_structural = _structure(columns, claims, flagged, max((cp.size for cp in cps), default=0), problems)
    flagged_sorted = sorted(flagged)

    def explained(start: int, end: int) -> bool:
        """A problem already reported accounts for a mismatch over positions [start, end)."""
        if first_structural is not None and end > first_structural:
            return True
        i = bisect.bisect_left(flagged_sorted, start)
        return i < len(flagged_sorted) and flagged_sorted[i] < end

    for position, level, start in node_mismatches:
        end = start + (1 << level) if level else position + 1
        if not explained(start, end):
            what = f"叶 {start}–{end - 1} 的子树哈希" if level else "不应有的子树哈希"
            problems.append(Problem("edited", f"{what}与存储的不符（历史被改写）", start))
    if node_mismatch_count > len(node_mismatches):
        problems.append(Problem("edited", f"另有 {node_mismatch_count - len(node_mismatches)} 处子树哈希不符", None,
                                "-"))
    for cp in cps:
        if cp.root is None:
            continue
        rebuilt = roots.get(cp.size)
        if rebuilt is None:  # the log is shorter: reported as deleted by _structure
            continue
        if rebuilt != cp.root and not explained(0, cp.size):
            kind = "inconsistent" if cp.label.startswith("given") else "edited"
            detail = ("与给定的检查点不一致：同一大小下根哈希不同（日志被分叉或改写）" if kind == "inconsistent"
                      else f"前 {cp.size} 条的根哈希与已签名的检查点不符（历史被改写）")
            problems.append(Problem(kind, detail, checkpoint=cp.label))
    report.problems = _capped(problems)
    return report


class _Checks:
    """The leaf sources' checks of one batch at a time, run while the audit reads on: the domain's
    query runs while the log's rows are hashed, and the rows are rebuilt while the next batch of the
    log is fetched. One batch in flight keeps memory bounded and the problems in order."""

    def __init__(self, sources: LeafSources | None, problems: list[Problem]) -> None:
        self.sources, self.problems = sources, problems
        self.running: asyncio.Future[Iterable[Problem]] | None = None

    async def submit(self, kind: str, pending: dict[str, list[LeafRecord]]) -> None:
        leaves, pending[kind] = pending[kind], []
        source = self.sources.get(kind) if self.sources is not None else None
        if not leaves or source is None:
            return
        await self.wait()
        self.running = asyncio.ensure_future(source(leaves))

    async def wait(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            self.problems.extend(await running)

    def cancel(self) -> None:
        if self.running is not None:
            self.running.cancel()


def _structure(columns: array[int], claims: array[int], flagged: set[int], covered: int,
               problems: list[Problem]) -> int | None:
    """Deleted, inserted and reordered rows, from the index each row claims (hashed into it) against
    its place. Returns the first position a structural problem touches, or None."""
    first: int | None = None

    def at(position: int) -> None:
        nonlocal first
        first = position if first is None else min(first, position)

    count = len(claims)
    bound = 2 * max(count, covered) + 1024  # a claim past this is no leaf of this log
    for position, claim in enumerate(claims):
        if claim >= bound:
            problems.append(Problem("inserted", f"声明的序号 {claim} 远超日志大小（不是本日志的条目）",
                                    columns[position]))
            claims[position] = -1
            at(position)
    highest = max(max(claims, default=-1) + 1, covered)  # missing indexes are looked for below this
    holder = array("q", [-1]) * max(highest, count)  # position of the first row claiming each index
    duplicated = set()
    for position, claim in enumerate(claims):
        if claim < 0:
            continue
        if holder[claim] >= 0:
            duplicated.add(position)
            other = columns[holder[claim]]
            problems.append(Problem("inserted", f"与叶 {other} 声明同一序号 {claim}：其中一条是插入的",
                                    min(other, columns[position])))
            at(holder[claim])
            continue
        holder[claim] = position
    run_start = None
    for index in range(highest + 1):
        missing = index < highest and holder[index] < 0
        if missing and run_start is None:
            run_start = index
        elif not missing and run_start is not None:
            span = f"叶 {run_start}" if index - 1 == run_start else f"叶 {run_start}–{index - 1}"
            tail = "（已被签名的检查点覆盖）" if index - 1 >= count else ""
            problems.append(Problem("deleted", f"{span} 不见了{tail}", run_start))
            at(min(run_start, count))
            run_start = None
    for position in range(count):
        claim = claims[position]
        if columns[position] != position or (claim >= 0 and claim != position):
            at(position)  # from here on rows are not where they were hashed: stored nodes no longer apply
        if claim < 0 or claim == columns[position] or position in duplicated:
            continue
        before = claims[position - 1] if position > 0 else -2
        after = claims[position + 1] if position + 1 < count else -2
        if before != claim - 1 and after != claim + 1:  # not part of a run shifted by a deletion/insertion
            problems.append(Problem("reordered", f"此处的条目原本是第 {claim} 条", columns[position]))
            at(position)
    return first


def _capped(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    counts: dict[str, int] = defaultdict(int)
    for p in problems:
        counts[p.kind] += 1
        if counts[p.kind] <= MAX_LINES_PER_KIND:
            out.append(p)
    for kind, n in counts.items():
        if n > MAX_LINES_PER_KIND:
            out.append(Problem(kind, f"另有 {n - MAX_LINES_PER_KIND} 处同类问题未逐条列出", checkpoint="-"))
    return out

