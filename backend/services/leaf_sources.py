"""What each kind of transparency-log leaf is recomputed from, for ``yangguang audit verify``.

The log proves its leaves were never changed; these sources prove the domain's rows still say what
their leaves say. Per kind: read the rows that claim the leaves, rebuild each leaf's content with the
same function that wrote it, and report the differences -- a row edited or deleted behind the
service's back, an evidence file changed or gone. ``unlogged_rows`` finds the other direction: rows
that claim no leaf, or a leaf of another kind (inserted behind the service's back). ``states_off_log``
checks rows whose state their steps carry (a register version, a decision, a complaint, an order to
rectify): the state must be the one its newest logged step left; ``copies_off_log`` checks the
columns that repeat a step (an answer). ``rows_against_log`` is all of them, what ``audit verify``
runs after the log's audit.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise import connections, fields, timezone
from tortoise.exceptions import FieldError
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model

from backend.models import (
    CaseRecord,
    CaseRemedy,
    Complaint,
    ComplaintEvent,
    CredentialEvent,
    Decision,
    DecisionVersion,
    Evidence,
    LegalReviewEvent,
    Rectification,
    RectificationEvent,
    RegisterEvent,
    RegisterVersion,
    StatisticsReport,
    StatisticsVersion,
)
from backend.models.enums import ComplaintStatus, DecisionStatus, LeafKind
from backend.services import decisions, remedies, statistics
from backend.services.complaints import steps as complaint_steps
from backend.services.disclosure import history
from backend.services.records import entries, evidence
from backend.services.registers import versions as register_versions
from backend.services.review import reviews
from backend.services.supervision import rectifications
from backend.services.transparency.verify import LeafRecord, LeafSources, Problem

# -- reading rows fast ---------------------------------------------------------------------------
#
# The audit reads every domain row that claims a leaf (a million and more). Tortoise's
# ``_init_from_db`` costs about 80 µs a row (iso8601 parsing, Enum.__call__, per-value calls); the
# reader below builds the same model instances from raw column values with the same conversions
# (``datetime.fromisoformat`` first, an enum's member map, the field's own ``to_python_value`` for
# the rest), so each leaf's content is still rebuilt by the very function that wrote it.
# tests/services/test_leaf_sources.py checks every field of every kind against the ORM's instances.


def _datetime_of(field: fields.DatetimeField) -> Callable[[Any], Any]:
    use_tz, tz = timezone.get_use_tz(), timezone.get_default_timezone()

    def convert(value: Any) -> Any:
        if type(value) is str:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:  # a form only iso8601 reads: the ORM's own way
                return field.to_python_value(value)
        elif not isinstance(value, datetime):
            return field.to_python_value(value)
        if not use_tz:
            return field.to_python_value(value)
        return timezone.make_aware(value, tz) if value.tzinfo is None else value.astimezone(tz)
    return convert


def _enum_of(field: Any) -> Callable[[Any], Any]:
    members, enum_type = field.enum_type._value2member_map_, field.enum_type

    def convert(value: Any) -> Any:
        member = members.get(value)
        return member if member is not None else enum_type(value)  # raises on a value no member has
    return convert


def _json_of(field: fields.JSONField) -> Callable[[Any], Any]:
    decoder = field.decoder

    def convert(value: Any) -> Any:
        if type(value) is not str:
            return field.to_python_value(value)
        try:
            return decoder(value)
        except ValueError as exc:
            raise FieldError("invalid json") from exc
    return convert


class _Reader:
    """Instances of one model from its columns selected as ``alias."column", …`` (``select``)."""

    def __init__(self, model: type[Model], alias: str) -> None:
        meta = model._meta
        self.model = model
        self.generated_pk = meta.db_pk_column in meta.generated_db_fields
        self.columns: list[str] = []
        self.plain: list[tuple[int, str]] = []  # the driver gives Python values already
        self.converted: list[tuple[int, str, Callable[[Any], Any]]] = []
        self.uuids: list[tuple[int, str]] = []  # remembered per batch: foreign keys repeat
        for column, name, _ in meta.db_native_fields:
            self.plain.append((self._add(column), name))
        for column, name, field in meta.db_default_fields:
            self.converted.append((self._add(column), name, field.field_type))
        for column, name, field in meta.db_complex_fields:
            if isinstance(field, fields.UUIDField):
                self.uuids.append((self._add(column), name))
                continue
            if isinstance(field, fields.DatetimeField):
                convert: Callable[[Any], Any] = _datetime_of(field)
            elif isinstance(field, CharEnumFieldInstance):
                convert = _enum_of(field)
            elif isinstance(field, fields.JSONField) and not isinstance(field.field_type, type):
                convert = _json_of(field)  # plain JSON (no pydantic model to build)
            else:
                convert = field.to_python_value
            self.converted.append((self._add(column), name, convert))
        self.select = ", ".join(f'{alias}."{c}"' for c in self.columns)
        self.width = len(self.columns)

    def _add(self, column: str) -> int:
        self.columns.append(column)
        return len(self.columns) - 1

    def build(self, values: Sequence[Any], uuids: dict[Any, Any], at: int = 0) -> Any:
        """The instance from ``values[at:at + width]``, set up as ``Model._init_from_db`` sets it up."""
        state = {"_partial": False, "_saved_in_db": True, "_custom_generated_pk": not self.generated_pk,
                 "_await_when_save": {}}
        for i, name in self.plain:
            state[name] = values[at + i]
        for i, name, convert in self.converted:
            value = values[at + i]
            state[name] = None if value is None else convert(value)
        for i, name in self.uuids:
            state[name] = _uuid(values[at + i], uuids)
        row = self.model.__new__(self.model)
        row.__dict__.update(state)
        return row


def _uuid(value: Any, seen: dict[Any, Any]) -> Any:
    """``UUIDField.to_python_value``, remembering the values of one batch."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    found = seen.get(value)
    if found is None:
        found = seen[value] = uuid.UUID(value)
    return found


@dataclass(frozen=True)
class Join:
    """What a leaf's content needs besides its row: the parent row (``p``), or only an ``agency_id``."""

    sql: str  # LEFT JOIN …, the row being ``t``
    parent: type[Model] | None = None  # None: select ``agency``, a UUID column
    agency: str = "p.agency_id"


@dataclass(frozen=True)
class Source:
    kinds: tuple[LeafKind, ...]
    model: type[Model]
    words: str  # what a row is, in the audit's Chinese lines
    content: Callable[[Any, Any], dict[str, Any]]  # (row, parent or agency id) -> the leaf's content
    join: Join | None = None
    # Rows written before the log covered this kind (carried over by the migration that began logging
    # it) have no leaf: accepted only with an id below every logged row's, so a row inserted behind
    # the service's back since then is still found.
    pre_log: bool = False

    def reader(self) -> tuple[_Reader, _Reader | None, str]:
        """The row's reader, the parent's, and the query of a range of leaf indexes (two parameters)."""
        row = _Reader(self.model, "t")
        parent = _Reader(self.join.parent, "p") if self.join is not None and self.join.parent is not None else None
        select = row.select
        if self.join is not None:
            select += ", " + (parent.select if parent is not None else self.join.agency)
        table = self.model._meta.db_table
        sql = (f'SELECT {select} FROM "{table}" t {self.join.sql if self.join is not None else ""} '
               "WHERE t.leaf_index BETWEEN {} AND {}")
        return row, parent, sql


_CASE = Join('LEFT JOIN "case" p ON p.id = t.case_id')

SOURCES = (
    Source((LeafKind.CASE_RECORD,), CaseRecord, "执法环节记录", entries.leaf_content, _CASE),
    Source((LeafKind.EVIDENCE,), Evidence, "证据", evidence.leaf_content, _CASE),
    Source((LeafKind.DECISION_EVENT,), DecisionVersion, "执法决定公示事件", decisions.leaf_content,
           Join('LEFT JOIN "decision" p ON p.id = t.decision_id', Decision)),
    Source((LeafKind.CREDENTIAL_CHANGE,), CredentialEvent, "证件变更", history.leaf_content,
           Join('LEFT JOIN "credential" c ON c.id = t.credential_id LEFT JOIN "officer" p ON p.id = c.officer_id')),
    Source((LeafKind.REVIEW_OPINION, LeafKind.REVIEW_EVENT), LegalReviewEvent, "法制审核事件", reviews.leaf_content,
           _CASE),
    Source((LeafKind.COMPLAINT,), Complaint, "投诉举报", lambda row, _: complaint_steps.leaf_content(row)),
    Source((LeafKind.COMPLAINT_EVENT,), ComplaintEvent, "投诉办理环节", complaint_steps.event_leaf_content,
           Join('LEFT JOIN "complaint" p ON p.id = t.complaint_id', Complaint)),
    Source((LeafKind.RECTIFICATION_EVENT,), RectificationEvent, "责令整改环节", rectifications.leaf_content,
           Join('LEFT JOIN "rectification" p ON p.id = t.rectification_id', Rectification)),
    Source((LeafKind.REMEDY,), CaseRemedy, "行政复议或诉讼登记", lambda row, _: remedies.leaf_content(row)),
    Source((LeafKind.STATISTICS_VERSION,), StatisticsVersion, "统计年报报送版本", statistics.leaf_content,
           Join('LEFT JOIN "statistics_report" p ON p.id = t.report_id', StatisticsReport)),
    Source((LeafKind.REGISTER_EVENT,), RegisterEvent, "公开事项版本环节", register_versions.leaf_content,
           Join('LEFT JOIN "register_version" p ON p.id = t.version_id', RegisterVersion), pre_log=True),
)


@dataclass(frozen=True)
class StateHead:
    """A row with a mutable state whose every move is a logged step (``steps``, a source's model, with
    a foreign key ``fk`` to the row). ``column``: the row's state column; ``after``: the SQL of the
    state a step ``x`` left (a column of it, or a mapping of its kind); ``initial``: the state of a
    row with no step yet (None: a row always has one, its first step writes it)."""

    model: type[Model]
    steps: type[Model]
    fk: str
    words: str
    column: str = "state"
    after: str = "x.state"
    initial: str | None = None


def _case_of(column: str, mapping: dict[Any, Any]) -> str:
    """A CASE mapping a step's kind to the state it leaves (from enums, never from input)."""
    return "CASE " + column + "".join(f" WHEN '{k.value}' THEN '{v.value}'" for k, v in mapping.items()) + " END"


# A complaint's status is the one its newest step left; before any step it is as filed.
_COMPLAINT = StateHead(Complaint, ComplaintEvent, "complaint_id", "投诉举报", column="status", after="x.status",
                       initial=ComplaintStatus.SUBMITTED.value)
# An order to rectify: the order is itself the first step.
_RECTIFICATION = StateHead(Rectification, RectificationEvent, "rectification_id", "责令整改", column="status",
                           after="x.status")
HEADS = (
    StateHead(RegisterVersion, RegisterEvent, "version_id", "公开事项版本"),
    # A decision's status is its newest version's: a quiet withdrawal or republication is named.
    StateHead(Decision, DecisionVersion, "decision_id", "执法决定", column="status",
              after=_case_of("x.kind", decisions.STATUS_AFTER), initial=DecisionStatus.DRAFT.value),
    _COMPLAINT,
    _RECTIFICATION,
)

@dataclass(frozen=True)
class Copy:
    """A column of a row that repeats a field of its newest logged step of one ``action`` (the answer a
    complainant reads, the written answer to an order): '' until there is such a step."""

    head: StateHead
    column: str
    action: str
    step_column: str


COPIES = (
    Copy(_COMPLAINT, "answer", "answer", "note"),  # a complaint's answer: the note of its answer step
    Copy(_RECTIFICATION, "answer", "answer", "text"),  # an order's latest written answer
)

_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, FieldError)


class _Rebuilt:
    """One batch of a source's rows, by leaf index: the row, and the content it gives (or why not)."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.row_reader, self.parent_reader, sql = src.reader()
        self.sql = sql
        self.leaf_at = self.row_reader.columns.index("leaf_index")

    async def read(self, first: int, last: int) -> dict[int, tuple[Any, dict[str, Any] | None]]:
        """Leaf index -> (row, content; None when a value of the row or its parent cannot be read)."""
        conn = connections.get("default")
        marks = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
        _, rows = await conn.execute_query(self.sql.format(*marks), [first, last])
        out: dict[int, tuple[Any, dict[str, Any] | None]] = {}
        parents: dict[Any, Any] = {}
        uuids: dict[Any, Any] = {}
        width, parent_reader, content = self.row_reader.width, self.parent_reader, self.src.content
        for values in rows:
            row: Any = None
            try:
                row = self.row_reader.build(values, uuids)
                if self.src.join is None:
                    extra = None
                elif parent_reader is None:
                    extra = _uuid(values[width], uuids)
                else:
                    key = values[width + parent_reader.columns.index(parent_reader.model._meta.db_pk_column)]
                    extra = parents.get(key)
                    if extra is None and key is not None:
                        extra = parents[key] = parent_reader.build(values, uuids, width)
                out[values[self.leaf_at]] = (row, content(row, extra))
            except _UNREADABLE:  # a value written behind the service's back that no writer gives
                out[values[self.leaf_at]] = (row, None)
        return out


async def rebuilt(src: Source, first: int, last: int) -> dict[int, tuple[Any, dict[str, Any] | None]]:
    """The rows of ``src`` claiming leaves ``first``..``last`` and the content each gives."""
    return await _Rebuilt(src).read(first, last)


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


def _file_problems(data_dir: Path, rows: list[tuple[int, Evidence]]) -> list[Problem]:
    problems = []
    for leaf_index, row in rows:
        kind = _file_problem(data_dir, row)
        if kind is not None:
            words = "证据文件已丢失" if kind == "evidence_file_missing" else "证据文件已被改动（SHA-256 不符）"
            problems.append(Problem(kind, f"{words}：{row.number}", leaf_index))
    return problems


def _source(src: Source, data_dir: Path) -> Callable[[Sequence[LeafRecord]], Awaitable[Iterable[Problem]]]:
    readers: list[_Rebuilt] = []  # made at the first batch: the models' metadata exists once the ORM is up

    async def check(leaves: Sequence[LeafRecord]) -> Iterable[Problem]:
        if not leaves:
            return []
        if not readers:
            readers.append(_Rebuilt(src))
        reader = readers[0]
        # One range query: the table holds only this source's rows, so the range is about the batch.
        expected = await reader.read(min(leaf.leaf_index for leaf in leaves), max(leaf.leaf_index for leaf in leaves))
        problems: list[Problem] = []
        files: list[tuple[int, Evidence]] = []
        for leaf in leaves:
            found = expected.get(leaf.leaf_index)
            if found is None:
                problems.append(Problem("deleted", f"{src.words}已从数据库中删除（日志仍有其条目）", leaf.leaf_index))
                continue
            row, content = found
            if content is None:
                problems.append(Problem("edited", f"{src.words}的字段值无法读取（被改为无效的值）", leaf.leaf_index))
                continue
            if content != leaf.data:
                changed = sorted(k for k in set(content) | set(leaf.data) if content.get(k) != leaf.data.get(k))
                problems.append(Problem("edited", f"{src.words}与日志不符（{'、'.join(changed)}）", leaf.leaf_index))
            if isinstance(row, Evidence):
                files.append((leaf.leaf_index, row))
        if files:
            problems.extend(await asyncio.to_thread(_file_problems, data_dir, files))
        return problems
    return check


def registry(data_dir: Path) -> LeafSources:
    """Every leaf kind's source, for ``audit(..., sources=registry(settings.data_dir))``."""
    sources = LeafSources()
    for src in SOURCES:
        for kind in src.kinds:
            sources.register(kind.value, _source(src, data_dir))
    return sources


async def states_off_log() -> list[Problem]:
    """Rows of ``HEADS`` whose state is not the state their newest step left (edited behind the
    service's back), or with no step at all (inserted). The newest step is the newest logged one; a
    row from before its steps were logged (no logged step yet) is held to its newest step carried over
    by the migration (``_before_logging``). The steps themselves are checked against their leaves by
    their source, so the newest logged step's state is the log's."""
    conn = connections.get("default")
    problems: list[Problem] = []
    for head in HEADS:
        table, steps = head.model._meta.db_table, head.steps._meta.db_table
        newest = (f'(SELECT x.id FROM "{steps}" x WHERE x.{head.fk} = t.id AND x.leaf_index IS NOT NULL '
                  "ORDER BY x.leaf_index DESC LIMIT 1)")
        if any(src.model is head.steps and src.pre_log for src in SOURCES):  # steps carried over unlogged
            newest = (f'COALESCE({newest}, (SELECT MAX(x.id) FROM "{steps}" x WHERE x.{head.fk} = t.id '
                      f'AND {_before_logging(steps, "x")}))')
        after = head.after.replace("x.", "e.")
        stepless = "e.id IS NULL" + (f" AND t.{head.column} <> '{head.initial}'" if head.initial is not None else "")
        _, rows = await conn.execute_query(
            f'SELECT t.id, t.{head.column}, {after}, e.id, e.leaf_index FROM "{table}" t LEFT JOIN "{steps}" e '
            f"ON e.id = {newest} WHERE ({stepless}) OR (e.id IS NOT NULL AND ({after} IS NULL OR {after} <> "
            f"t.{head.column})) ORDER BY e.leaf_index, t.id")
        for row_id, state, logged, step_id, leaf_index in rows:
            if step_id is None and head.initial is not None:
                problems.append(Problem("edited", f"{head.words} {row_id} 的状态（{state}）不是尚无环节时的状态"
                                                  f"（{head.initial}）"))
            elif step_id is None:
                problems.append(Problem("inserted", f"{head.words} {row_id}（表 {table}）没有日志条目"))
            elif leaf_index is None:
                problems.append(Problem("edited", f"{head.words} {row_id} 的状态（{state}）与升级时记录的状态"
                                                  f"（{logged}）不符"))
            else:
                problems.append(Problem("edited", f"{head.words}的状态（{state}）与日志中最后一个环节的状态"
                                                  f"（{logged}）不符", int(leaf_index)))
    return problems


async def copies_off_log() -> list[Problem]:
    """Rows of ``COPIES`` whose copied column is not what their newest logged step of that action says
    (an answer rewritten behind the service's back, or given without a step)."""
    conn = connections.get("default")
    problems: list[Problem] = []
    for copy in COPIES:
        head = copy.head
        table, steps = head.model._meta.db_table, head.steps._meta.db_table
        logged = (f'(SELECT x.{copy.step_column} FROM "{steps}" x WHERE x.{head.fk} = t.id AND x.action = '
                  f"'{copy.action}' AND x.leaf_index IS NOT NULL ORDER BY x.leaf_index DESC LIMIT 1)")
        _, rows = await conn.execute_query(
            f'SELECT t.id FROM "{table}" t WHERE COALESCE({logged}, \'\') <> t.{copy.column} ORDER BY t.id')
        for (row_id,) in rows:
            problems.append(Problem("edited", f"{head.words} {row_id} 的{_COPY_WORDS[copy.column]}与日志中最后一次"
                                              "相应环节不符"))
    return problems


_COPY_WORDS = {"answer": "答复内容"}


def _before_logging(table: str, alias: str) -> str:
    """An unlogged row written before the first logged row of ``table`` (a ``pre_log`` source's)."""
    return (f'{alias}.leaf_index IS NULL AND {alias}.id < (SELECT COALESCE(MIN(y.id), {2**62}) FROM "{table}" y '
            "WHERE y.leaf_index IS NOT NULL)")


async def rows_against_log() -> list[Problem]:
    """What ``audit verify`` checks after the leaves: rows the log never wrote, states it never left."""
    return [*await unlogged_rows(), *await states_off_log(), *await copies_off_log()]


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
            f"AND l.kind IN ({kinds}) WHERE l.leaf_index IS NULL"
            + (f" AND NOT ({_before_logging(table, 't')})" if src.pre_log else ""))
        for (claimed,) in rows:
            where = f"声称日志叶 {claimed}，但日志中没有对应条目" if claimed is not None else "没有日志条目"
            problems.append(Problem("inserted", f"{src.words}（表 {table}）{where}"))
    return problems
