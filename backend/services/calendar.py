"""Working days on the official PRC calendar (R-P1, R-P3, R-L4): the one answer to "is D a working
day" and "N working days after D".

Three sources, strongest first:

1. **Loaded** — the operator's loads of the State Council schedule (国务院办公厅关于某年部分节假日安排的
   通知, published each November), ``yangguang calendar load FILE``. For each year the latest load
   holding dates of that year is its schedule; a date it lists is a holiday or a make-up working day,
   any other date follows chinese-calendar (when it knows the year) or the plain week.
2. **chinese-calendar** — the package's data (1.11.0: 2004–2026), holidays and 调休 working weekends.
3. **Fallback** — a year neither covers never crashes: Saturdays and Sundays are off, and so are the
   fixed-date statutory holidays (元旦 1/1, 劳动节 5/1–5/2, 国庆节 10/1–10/3, 《全国年节及纪念日放假办法》).
   春节, 清明节, 端午节 and 中秋节 follow the lunar calendar or a solar term and their runs and
   make-up days are set each year by the State Council: they cannot be computed, so they are not
   counted. A deadline that counted a fallback day is **provisional**; stored ones are recomputed
   when the year is loaded (``services/clocks.py``).

Counting: "N working days after D" starts the day after D (D itself never counts), so 0 is D.
The calendar is read from the database on each question (a few dozen rows a year, no cache to
invalidate across processes); the answers are computed by ``Calendar``, which does no I/O.
"""

from __future__ import annotations

import calendar as gregorian
import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import chinese_calendar
from chinese_calendar.constants import Holiday

from backend.clock import Clock
from backend.errors import ValidationFailed
from backend.models import CalendarDay, CalendarLoad
from backend.models.enums import CalendarDayKind
from backend.services import audit

Source = Literal["loaded", "chinese_calendar", "fallback"]

# The fixed-date statutory holidays (全国年节及纪念日放假办法, as amended 2024): the fallback's days
# off besides weekends, and what a loaded schedule of a year must contain.
FIXED_HOLIDAYS: dict[tuple[int, int], str] = {
    (1, 1): "元旦", (5, 1): "劳动节", (5, 2): "劳动节", (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节",
}
LUNAR_NOTE = "春节、清明节、端午节、中秋节按农历或节气确定，放假与调休由国务院每年公布，无法推算，未计入"
# chinese-calendar names holidays in English; people read them in Chinese.
CHINESE_NAMES: dict[str, str] = {h.value: h.chinese for h in Holiday} | {
    "Tomb-sweeping Day": "清明节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节"}
MAX_WORKING_DAYS = 1000  # a deadline is days or weeks; anything longer is an input error
MAX_FILE_BYTES = 1024 * 1024
MAX_ENTRIES = 2000
FIRST_YEAR, LAST_YEAR = 1990, 2100


@dataclass(frozen=True)
class Day:
    on: date
    working: bool
    name: str  # the holiday's name, 调休上班 for a make-up working day, "" for a plain day
    source: Source

    @property
    def provisional(self) -> bool:
        return self.source == "fallback"


@dataclass(frozen=True)
class Deadline:
    on: date
    provisional: bool  # a day counted came from the fallback: recomputed when its year is loaded


@lru_cache(maxsize=256)
def library_covers(year: int) -> bool:
    """Whether the installed chinese-calendar has the State Council's schedule of ``year``: it
    raises NotImplementedError outside its data (2004–2026 in 1.11.0)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def library_range() -> tuple[int, int]:
    years = [y for y in range(FIRST_YEAR, LAST_YEAR + 1) if library_covers(y)]
    return (years[0], years[-1]) if years else (0, 0)


@lru_cache(maxsize=8192)
def _library_day(on: date) -> Day:
    """chinese-calendar's answer for ``on`` (a year it covers). Cached: the package's data is fixed
    for the process, and each of its calls scans its whole table to validate the date (a complaint's
    two deadlines asked it ~25 times, most of the intake's CPU)."""
    working = chinese_calendar.is_workday(on)
    _, name = chinese_calendar.get_holiday_detail(on)  # None on a plain weekend
    if working:
        label = "调休上班" if on.weekday() >= 5 else ""
    else:
        label = CHINESE_NAMES.get(name, name) if name else ""
    return Day(on, working, label, "chinese_calendar")


def _plain(on: date) -> Day:
    return Day(on, on.weekday() < 5, "", "loaded")


class Calendar:
    """The calendar as loaded at one moment: ``loaded`` maps a year to its loaded days (date ->
    (working, name)). Pure: answers without I/O."""

    def __init__(self, loaded: Mapping[int, Mapping[date, tuple[bool, str]]] | None = None) -> None:
        self.loaded = {year: dict(days) for year, days in (loaded or {}).items()}

    def source_of(self, year: int) -> Source:
        if year in self.loaded:
            return "loaded"
        return "chinese_calendar" if library_covers(year) else "fallback"

    def covers(self, year: int) -> bool:
        """Whether ``year`` has an official schedule (loaded or chinese-calendar's)."""
        return self.source_of(year) != "fallback"

    def day(self, on: date) -> Day:
        if on.year in self.loaded:
            if on in self.loaded[on.year]:
                working, name = self.loaded[on.year][on]
                return Day(on, working, name, "loaded")
            if not library_covers(on.year):
                return _plain(on)
        if library_covers(on.year):
            return _library_day(on)
        fixed = FIXED_HOLIDAYS.get((on.month, on.day))
        if fixed is not None:
            return Day(on, False, fixed, "fallback")
        return Day(on, on.weekday() < 5, "", "fallback")

    def is_working_day(self, on: date) -> bool:
        return self.day(on).working

    def add(self, start: date, days: int) -> Deadline:
        """The date ``days`` working days after ``start`` (the count starts the next day)."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValidationFailed(f"工作日数须在 0 到 {MAX_WORKING_DAYS} 之间", code="working_days_out_of_range")
        on, left, provisional = start, days, False
        while left > 0:
            on += timedelta(days=1)
            if on.year > LAST_YEAR:
                raise ValidationFailed(f"日期超出 {LAST_YEAR} 年", code="working_days_out_of_range")
            day = self.day(on)
            provisional = provisional or day.provisional
            if day.working:
                left -= 1
        return Deadline(on, provisional)

    def special_days(self, year: int) -> list[Day]:
        """The year's days that differ from the plain week (holidays on any day, make-up working
        weekends), as ``yangguang calendar show`` lists them."""
        out = []
        on = date(year, 1, 1)
        while on.year == year:
            day = self.day(on)
            if day.working != (on.weekday() < 5) or (not day.working and day.name):
                out.append(day)
            on += timedelta(days=1)
        return out

    def working_days_in(self, year: int) -> int:
        on, n = date(year, 1, 1), 0
        while on.year == year:
            n += self.is_working_day(on)
            on += timedelta(days=1)
        return n

    def missing_year_warning(self, today: date) -> str | None:
        """What the supervisor is told while the schedule a deadline may need is missing: the current
        year at any time, next year during December (the State Council publishes it in November)."""
        if not self.covers(today.year):
            year = today.year
        elif today.month == 12 and not self.covers(today.year + 1):
            year = today.year + 1
        else:
            return None
        return (f"{year} 年的国务院节假日安排尚未载入：涉及该年的期限暂按周末和固定日期节日（元旦、劳动节、国庆节）"
                f"计算并标记为暂定；{LUNAR_NOTE}。请在通知公布后运行 yangguang calendar load 载入，"
                f"已存的期限将自动重算")


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day (2026-08-31 + 6 -> 2027-02-28): calendar
    months, for periods the law counts in months (litigation, publication periods)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, gregorian.monthrange(year, month)[1]))


async def current() -> Calendar:
    """The calendar as the database holds it now: per year, the days of its latest load."""
    rows = await CalendarDay.all().order_by("year", "-load_id").values("year", "load_id", "day", "kind", "name")
    latest: dict[int, int] = {}
    loaded: dict[int, dict[date, tuple[bool, str]]] = {}
    for row in rows:
        year = row["year"]
        if latest.setdefault(year, row["load_id"]) != row["load_id"]:
            continue  # an older load of the year: history, replaced by the latest
        loaded.setdefault(year, {})[row["day"]] = (row["kind"] == CalendarDayKind.WORKDAY, row["name"])
    return Calendar(loaded)


async def add_working_days(start: date, days: int) -> Deadline:
    """``days`` working days after ``start`` on the official calendar (provisional where not covered)."""
    return (await current()).add(start, days)


async def day(on: date) -> Day:
    """Whether ``on`` is a working day, its name and where the answer comes from."""
    return (await current()).day(on)


# -- the file an operator loads ----------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    on: date
    kind: CalendarDayKind
    name: str


KIND_WORDS: dict[str, CalendarDayKind] = {
    "holiday": CalendarDayKind.HOLIDAY, "休": CalendarDayKind.HOLIDAY, "放假": CalendarDayKind.HOLIDAY,
    "workday": CalendarDayKind.WORKDAY, "working_day": CalendarDayKind.WORKDAY, "班": CalendarDayKind.WORKDAY,
    "上班": CalendarDayKind.WORKDAY,
}


def _invalid(where: str, what: str) -> ValidationFailed:
    return ValidationFailed(f"{where}：{what}", code="calendar_file_invalid")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on a Chinese desktop saves CSV as GB18030
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _invalid("文件", "不是 UTF-8 或 GB18030 编码的文本")


def parse(data: bytes) -> list[Entry]:
    """A schedule file: JSON (a list of {"date", "kind", "name"}, or {"days": [...]}) or CSV
    (columns date, kind, name; a header row is optional). ``kind`` is holiday or workday (also
    休/放假, 班/上班). Every problem is a 422 ``calendar_file_invalid`` naming the row."""
    if len(data) > MAX_FILE_BYTES:
        raise _invalid("文件", f"超过 {MAX_FILE_BYTES // 1024} KiB")
    text = _decode(data).strip()
    if not text:
        raise _invalid("文件", "为空")
    rows: list[tuple[str, object, object, object]] = []
    if text[0] in "[{":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid("文件", f"JSON 格式错误（第 {exc.lineno} 行）") from exc
        items = doc.get("days") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise _invalid("文件", "JSON 须为日期条目的列表，或含 days 列表的对象")
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise _invalid(f"第 {i} 条", "须为含 date、kind、name 的对象")
            unknown = set(item) - {"date", "kind", "name"}
            if unknown:
                raise _invalid(f"第 {i} 条", f"未知字段 {', '.join(sorted(map(str, unknown)))}")
            rows.append((f"第 {i} 条", item.get("date"), item.get("kind"), item.get("name", "")))
    else:
        for i, cells in enumerate(csv.reader(io.StringIO(text)), 1):
            if not cells or all(not c.strip() for c in cells):
                continue
            if i == 1 and cells[0].strip().lower() in ("date", "日期"):
                continue  # the header
            if len(cells) not in (2, 3):
                raise _invalid(f"第 {i} 行", "须为 日期,类型,名称 三列")
            rows.append((f"第 {i} 行", cells[0].strip(), cells[1].strip(), cells[2].strip() if len(cells) == 3 else ""))
    return _entries(rows)


def _entries(rows: Iterable[tuple[str, object, object, object]]) -> list[Entry]:
    out: dict[date, Entry] = {}
    for where, raw_date, raw_kind, raw_name in rows:
        if not isinstance(raw_date, str):
            raise _invalid(where, "缺少日期（YYYY-MM-DD）")
        try:
            on = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise _invalid(where, f"日期 {raw_date[:20]!r} 无效（须为 YYYY-MM-DD）") from exc
        if len(raw_date) != 10 or not FIRST_YEAR <= on.year <= LAST_YEAR:
            raise _invalid(where, f"日期 {raw_date[:20]!r} 无效（须为 {FIRST_YEAR}–{LAST_YEAR} 年的 YYYY-MM-DD）")
        kind = KIND_WORDS.get(raw_kind.strip().lower()) if isinstance(raw_kind, str) else None
        if kind is None:
            raise _invalid(where, "类型须为 holiday（放假）或 workday（调休上班）")
        if not isinstance(raw_name, str) or len(raw_name.strip()) > 50 or not raw_name.isprintable():
            raise _invalid(where, "名称须为不超过 50 字的文本")
        name = raw_name.strip()
        if kind is CalendarDayKind.HOLIDAY and not name:
            raise _invalid(where, "放假日须写明节日名称")
        if on in out:
            raise _invalid(where, f"日期 {on.isoformat()} 重复")
        out[on] = Entry(on, kind, name or "调休上班")
        if len(out) > MAX_ENTRIES:
            raise _invalid("文件", f"超过 {MAX_ENTRIES} 条")
    if not out:
        raise _invalid("文件", "没有任何日期条目")
    entries = sorted(out.values(), key=lambda e: e.on)
    _check_complete(entries)
    return entries


def _check_complete(entries: list[Entry]) -> None:
    """A loaded year replaces the fallback entirely: for a year chinese-calendar does not know, the
    file must be the whole schedule, so it must at least hold the fixed-date statutory holidays."""
    holidays = {e.on for e in entries if e.kind is CalendarDayKind.HOLIDAY}
    for year in sorted({e.on.year for e in entries}):
        if library_covers(year):
            continue  # listed dates override chinese-calendar's; the rest of the year is its own
        missing = [f"{m}月{d}日（{name}）" for (m, d), name in FIXED_HOLIDAYS.items()
                   if date(year, m, d) not in holidays]
        if missing:
            raise _invalid(f"{year} 年", f"缺少法定节日 {'、'.join(missing)}；"
                                          "请载入国务院办公厅通知的全年放假与调休安排")


async def store(entries: list[Entry], *, source_name: str, sha256: str, actor: str, clock: Clock) -> CalendarLoad:
    """Write one load (inside the caller's transaction): the years it holds take its schedule."""
    name, role = audit.who(actor)
    years = sorted({e.on.year for e in entries})
    load = await CalendarLoad.create(loaded_at=clock.now(), years=years, source_name=source_name[:200],
                                     sha256=sha256, entries=len(entries), actor=actor, actor_name=name,
                                     actor_role=role)
    await CalendarDay.bulk_create([CalendarDay(load_id=load.id, year=e.on.year, day=e.on, kind=e.kind, name=e.name)
                                   for e in entries])
    await audit.record(actor, "calendar.load", "calendar_load", str(load.id),
                       data={"years": years, "entries": len(entries), "sha256": sha256, "file": source_name[:200]})
    return load
