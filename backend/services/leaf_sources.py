"""What each kind of transparency-log leaf is recomputed from, for ``yangguang audit verify``.

The log proves its leaves were never changed; these sources prove the domain's rows still say what
their leaves say. Per kind: read the rows that claim the leaves, rebuild each leaf's content with the
same function that wrote it, and report the differences -- a row edited or deleted behind the
service's back, an evidence file changed or gone. ``unlogged_rows`` finds the other direction: rows
that claim no leaf, or a leaf of another kind (inserted behind the service's back).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.models import Model

from backend.models import (
    Case,
    CaseRecord,
    CaseRemedy,
    Complaint,
    ComplaintEvent,
    Credential,
    CredentialEvent,
    Decision,
    DecisionVersion,
    Evidence,
    LegalReviewEvent,
    Officer,
    Rectification,
    RectificationEvent,
    StatisticsReport,
    StatisticsVersion,
)
from backend.models.enums import LeafKind
from backend.services import decisions, remedies, statistics
from backend.services.complaints import steps as complaint_steps
from backend.services.disclosure import history
from backend.services.records import entries, evidence
from backend.services.review import reviews
from backend.services.supervision import rectifications
from backend.services.transparency.verify import LeafRecord, LeafSources, Problem

Expected = dict[int, tuple[dict[str, Any], Model]]  # leaf index -> (content the row gives, the row)


async def _case_agencies(case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    return {c["id"]: c["agency_id"] for c in await Case.filter(id__in=list(set(case_ids))).values("id", "agency_id")}


async def _records(indexes: list[int]) -> Expected:
    rows = await CaseRecord.filter(leaf_index__in=indexes)
    agency = await _case_agencies(r.case_id for r in rows)
    return {r.leaf_index: (entries.leaf_content(r, agency[r.case_id]), r) for r in rows if r.leaf_index is not None}


async def _evidence(indexes: list[int]) -> Expected:
    rows = await Evidence.filter(leaf_index__in=indexes)
    agency = await _case_agencies(r.case_id for r in rows)
    return {r.leaf_index: (evidence.leaf_content(r, agency[r.case_id]), r) for r in rows if r.leaf_index is not None}


async def _decision_events(indexes: list[int]) -> Expected:
    rows = await DecisionVersion.filter(leaf_index__in=indexes)
    by_id = {d.id: d for d in await Decision.filter(id__in=list({r.decision_id for r in rows}))}
    return {r.leaf_index: (decisions.leaf_content(r, by_id[r.decision_id]), r)
            for r in rows if r.leaf_index is not None}


async def _credential_changes(indexes: list[int]) -> Expected:
    rows = await CredentialEvent.filter(leaf_index__in=indexes)
    holders = {c["id"]: c["officer_id"] for c in await Credential.filter(
        id__in=list({r.credential_id for r in rows})).values("id", "officer_id")}
    agency = {o["id"]: o["agency_id"] for o in await Officer.filter(
        id__in=list(set(holders.values()))).values("id", "agency_id")}
    return {r.leaf_index: (history.leaf_content(r, agency[holders[r.credential_id]]), r)
            for r in rows if r.leaf_index is not None}


async def _review_events(indexes: list[int]) -> Expected:
    rows = await LegalReviewEvent.filter(leaf_index__in=indexes)
    agency = await _case_agencies(r.case_id for r in rows)
    return {r.leaf_index: (reviews.leaf_content(r, agency[r.case_id]), r) for r in rows if r.leaf_index is not None}


async def _complaints(indexes: list[int]) -> Expected:
    rows = await Complaint.filter(leaf_index__in=indexes)
    return {r.leaf_index: (complaint_steps.leaf_content(r), r) for r in rows if r.leaf_index is not None}


async def _complaint_events(indexes: list[int]) -> Expected:
    rows = await ComplaintEvent.filter(leaf_index__in=indexes)
    by_id = {c.id: c for c in await Complaint.filter(id__in=list({r.complaint_id for r in rows}))}
    return {r.leaf_index: (complaint_steps.event_leaf_content(r, by_id[r.complaint_id]), r)
            for r in rows if r.leaf_index is not None}


async def _rectification_events(indexes: list[int]) -> Expected:
    rows = await RectificationEvent.filter(leaf_index__in=indexes)
    by_id = {r.id: r for r in await Rectification.filter(id__in=list({e.rectification_id for e in rows}))}
    return {e.leaf_index: (rectifications.leaf_content(e, by_id[e.rectification_id]), e)
            for e in rows if e.leaf_index is not None}
async def _remedies(indexes: list[int]) -> Expected:
    rows = await CaseRemedy.filter(leaf_index__in=indexes)
    return {r.leaf_index: (remedies.leaf_content(r), r) for r in rows if r.leaf_index is not None}


async def _statistics_versions(indexes: list[int]) -> Expected:
    rows = await StatisticsVersion.filter(leaf_index__in=indexes)
    reports = {r.id: r for r in await StatisticsReport.filter(id__in=list({v.report_id for v in rows}))}
    return {r.leaf_index: (statistics.leaf_content(r, reports[r.report_id]), r)
            for r in rows if r.leaf_index is not None}


@dataclass(frozen=True)
class Source:
    kinds: tuple[LeafKind, ...]
    model: type[Model]
    words: str  # what a row is, in the audit's Chinese lines
    expected: Callable[[list[int]], Awaitable[Expected]]


SOURCES = (
    Source((LeafKind.CASE_RECORD,), CaseRecord, "执法环节记录", _records),
    Source((LeafKind.EVIDENCE,), Evidence, "证据", _evidence),
    Source((LeafKind.DECISION_EVENT,), DecisionVersion, "执法决定公示事件", _decision_events),
    Source((LeafKind.CREDENTIAL_CHANGE,), CredentialEvent, "证件变更", _credential_changes),
    Source((LeafKind.REVIEW_OPINION, LeafKind.REVIEW_EVENT), LegalReviewEvent, "法制审核事件", _review_events),
    Source((LeafKind.COMPLAINT,), Complaint, "投诉举报", _complaints),
    Source((LeafKind.COMPLAINT_EVENT,), ComplaintEvent, "投诉办理环节", _complaint_events),
    Source((LeafKind.RECTIFICATION_EVENT,), RectificationEvent, "责令整改环节", _rectification_events),
    Source((LeafKind.REMEDY,), CaseRemedy, "行政复议或诉讼登记", _remedies),
    Source((LeafKind.STATISTICS_VERSION,), StatisticsVersion, "统计年报报送版本", _statistics_versions),
)


def _file_problem(data_dir: Path, row: Evidence) -> str | None:
    path = evidence.stored_path(data_dir, row.sha256)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "evidence_file_missing"
    if size != row.size_bytes:
        return "evidence_file_changed"
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return None if digest.hexdigest() == row.sha256 else "evidence_file_changed"


def _source(src: Source, data_dir: Path) -> Callable[[Sequence[LeafRecord]], Awaitable[Iterable[Problem]]]:
    async def check(leaves: Sequence[LeafRecord]) -> Iterable[Problem]:
        expected = await src.expected([leaf.leaf_index for leaf in leaves])
        problems: list[Problem] = []
        for leaf in leaves:
            found = expected.get(leaf.leaf_index)
            if found is None:
                problems.append(Problem("deleted", f"{src.words}已从数据库中删除（日志仍有其条目）", leaf.leaf_index))
                continue
            content, row = found
            if content != leaf.data:
                changed = sorted(k for k in set(content) | set(leaf.data) if content.get(k) != leaf.data.get(k))
                problems.append(Problem("edited", f"{src.words}与日志不符（{'、'.join(changed)}）", leaf.leaf_index))
            if isinstance(row, Evidence):
                kind = await asyncio.to_thread(_file_problem, data_dir, row)
                if kind is not None:
                    words = "证据文件已丢失" if kind == "evidence_file_missing" else "证据文件已被改动（SHA-256 不符）"
                    problems.append(Problem(kind, f"{words}：{row.number}", leaf.leaf_index))
        return problems
    return check


def registry(data_dir: Path) -> LeafSources:
    """Every leaf kind's source, for ``audit(..., sources=registry(settings.data_dir))``."""
    sources = LeafSources()
    for src in SOURCES:
        for kind in src.kinds:
            sources.register(kind.value, _source(src, data_dir))
    return sources


async def unlogged_rows() -> list[Problem]:
    """Rows that claim no leaf, or a leaf that is missing or of another kind: written behind the
    service's back (every path of the service writes the leaf first)."""
    conn = connections.get("default")
    problems: list[Problem] = []
    for src in SOURCES:
        table = src.model._meta.db_table
        kinds = ", ".join(f"'{k.value}'" for k in src.kinds)  # from the enum, not from input
        _, rows = await conn.execute_query(
            f'SELECT t.leaf_index FROM "{table}" t LEFT JOIN log_leaf l ON l.leaf_index = t.leaf_index '
            f"AND l.kind IN ({kinds}) WHERE l.leaf_index IS NULL")
        for (claimed,) in rows:
            where = f"声称日志叶 {claimed}，但日志中没有对应条目" if claimed is not None else "没有日志条目"
            problems.append(Problem("inserted", f"{src.words}（表 {table}）{where}"))
    return problems
