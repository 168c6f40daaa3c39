"""Working days on the official calendar (services/calendar.py): the State Council schedules of
2024–2026, a year no source covers, and the operator's loads.

The dates below are written out from the notices themselves (国务院办公厅关于2024年、2025年、2026年部分
节假日安排的通知: 国办发明电〔2023〕7号, 〔2024〕12号, 〔2025〕7号), not read back from
chinese-calendar, so a wrong package update fails here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import ValidationFailed
from backend.models import AuditEvent, CalendarDay, CalendarLoad
from backend.services import calendar, clocks
from backend.services.calendar import Calendar, Deadline

D = date
OFFICIAL = Calendar()  # nothing loaded: chinese-calendar's data where it has the year

# 调休: Saturdays and Sundays worked, from the notices.
MAKE_UP_WORKING_DAYS = [
    D(2024, 2, 4), D(2024, 2, 18), D(2024, 4, 7), D(2024, 4, 28), D(2024, 5, 11), D(2024, 9, 14), D(2024, 9, 29),
    D(2024, 10, 12),
    D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11),
    D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10),
]
# Runs of days off (放假调休), first and last day inclusive, from the notices.
RUNS = [
    (D(2024, 2, 10), D(2024, 2, 17), "春节"), (D(2024, 10, 1), D(2024, 10, 7), "国庆节"),
    (D(2024, 5, 1), D(2024, 5, 5), "劳动节"), (D(2024, 4, 4), D(2024, 4, 6), "清明节"),
    (D(2025, 1, 28), D(2025, 2, 4), "春节"), (D(2025, 10, 1), D(2025, 10, 8), None),  # 国庆 and 中秋 together
    (D(2025, 5, 31), D(2025, 6, 2), "端午节"),
    (D(2026, 1, 1), D(2026, 1, 3), "元旦"), (D(2026, 2, 15), D(2026, 2, 23), "春节"),
    (D(2026, 10, 1), D(2026, 10, 7), "国庆节"), (D(2026, 9, 25), D(2026, 9, 27), "中秋节"),
]


@pytest.mark.parametrize("day", MAKE_UP_WORKING_DAYS, ids=str)
def test_make_up_saturdays_and_sundays_are_working_days(day):
    assert day.weekday() >= 5
    got = OFFICIAL.day(day)
    assert got.working and got.name == "调休上班" and not got.provisional


@pytest.mark.parametrize(("first", "last", "name"), RUNS, ids=lambda v: str(v))
def test_holiday_runs_are_off_every_day_weekdays_included(first, last, name):
    on = first
    while on <= last:
        got = OFFICIAL.day(on)
        assert not got.working, on
        assert got.name == name if name else got.name in ("国庆节", "中秋节")
        on += timedelta(days=1)
    assert OFFICIAL.is_working_day(last + timedelta(days=1)) or (last + timedelta(days=1)).weekday() >= 5


@pytest.mark.parametrize(("start", "n", "due"), [
    # Spring Festival 2024: 02-04 (Sunday) worked, 02-10..17 off, 02-18 (Sunday) worked.
    (D(2024, 2, 7), 3, D(2024, 2, 18)),
    # National Day 2024: 09-29 (Sunday) worked, 10-01..07 off, 10-12 (Saturday) worked.
    (D(2024, 9, 27), 7, D(2024, 10, 12)),
    # 15 working days from 2025-09-26 count Sunday 09-28 and Saturday 10-11 (checked by hand).
    (D(2025, 9, 26), 15, D(2025, 10, 23)),
    # Spring Festival 2025: Sunday 01-26 worked, 01-28..02-04 off, Saturday 02-08 worked.
    (D(2025, 1, 24), 5, D(2025, 2, 7)),
    # From a day off the count still starts the next day (期间开始之日不计算在内). chinese-calendar's
    # find_workday(4, 2025-02-04) says 02-10: it counts from the first working day on or after D.
    (D(2025, 2, 4), 4, D(2025, 2, 8)),
    # National Day 2026: Sunday 09-20 worked; 09-25..27 中秋, 10-01..07 off; Saturday 10-10 worked.
    (D(2026, 9, 18), 7, D(2026, 9, 29)),
    (D(2026, 9, 30), 3, D(2026, 10, 10)),
    # R-P1 for a penalty decided the day before Spring Festival 2026 (02-15..23 off, 02-14 and 02-28 worked).
    (D(2026, 2, 13), 7, D(2026, 3, 2)),
    (D(2026, 11, 20), 0, D(2026, 11, 20)),  # 0 working days after D is D
])
def test_n_working_days_after_a_date_on_the_official_schedules(start, n, due):
    assert OFFICIAL.add(start, n) == Deadline(due, False)


def test_a_year_no_source_covers_counts_weekends_and_fixed_date_holidays_and_says_provisional():
    assert not OFFICIAL.covers(2027) and OFFICIAL.covers(2026)
    assert [d.on for d in OFFICIAL.special_days(2027)] == [
        D(2027, 1, 1), D(2027, 5, 1), D(2027, 5, 2), D(2027, 10, 1), D(2027, 10, 2), D(2027, 10, 3)]
    assert OFFICIAL.day(D(2027, 1, 1)).provisional and not OFFICIAL.is_working_day(D(2027, 1, 1))
    assert OFFICIAL.is_working_day(D(2027, 2, 8))  # a lunar holiday cannot be computed: not counted
    # 12-29..31 are working days of 2026, 2027-01-01 is 元旦, then the weekend.
    assert OFFICIAL.add(D(2026, 12, 28), 5) == Deadline(D(2027, 1, 5), True)
    assert OFFICIAL.add(D(2026, 12, 28), 3) == Deadline(D(2026, 12, 31), False)  # stays in 2026: official
    assert OFFICIAL.add(D(2099, 3, 1), 10).provisional  # far years never crash either
    with pytest.raises(ValidationFailed):
        OFFICIAL.add(D(2026, 1, 1), -1)


def test_the_supervisor_is_warned_in_december_while_next_year_is_missing():
    assert OFFICIAL.missing_year_warning(D(2026, 11, 30)) is None
    warning = OFFICIAL.missing_year_warning(D(2026, 12, 1))
    assert warning is not None and "2027" in warning and "yangguang calendar load" in warning
    assert "春节" in warning  # says what the fallback cannot compute
    assert "2027" in (OFFICIAL.missing_year_warning(D(2027, 3, 1)) or "")  # still missing in the year itself
    loaded = Calendar({2027: {D(2027, 1, 1): (False, "元旦")}})
    assert loaded.missing_year_warning(D(2026, 12, 1)) is None


# -- the operator's file -----------------------------------------------------------------------------

# An illustrative 2027 schedule in the notice's shape (the dates are this test's, not the State
# Council's: it had not been published when this was written). It holds every fixed-date holiday.
SCHEDULE_2027_CSV = """date,kind,name
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-12,holiday,春节
2027-02-20,workday,
2027-05-01,holiday,劳动节
2027-05-02,holiday,劳动节
2027-05-03,holiday,劳动节
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
"""


def test_a_csv_schedule_is_parsed_header_bom_and_chinese_words_included():
    entries = calendar.parse(("\ufeff" + SCHEDULE_2027_CSV).encode())
    assert len(entries) == 16 and entries[0].on == D(2027, 1, 1)
    assert next(e for e in entries if e.on == D(2027, 2, 20)).name == "调休上班"
    gbk = "2026-12-31,休,元旦\n2026-12-27,班,\n".encode("gb18030")  # as Excel saves it on a Chinese desktop
    assert [(e.on, e.kind.value) for e in calendar.parse(gbk)] == [(D(2026, 12, 27), "workday"),
                                                                   (D(2026, 12, 31), "holiday")]


def test_a_json_schedule_is_parsed():
    entries = calendar.parse(b'{"days": [{"date": "2026-12-31", "kind": "holiday", "name": "\\u5143\\u65e6"}]}')
    assert entries == [calendar.Entry(D(2026, 12, 31), calendar.CalendarDayKind.HOLIDAY, "元旦")]


@pytest.mark.parametrize(("data", "says"), [
    (b"", "为空"),
    (b"2026-02-30,holiday,x\n", "2026-02-30"),
    (b"2026-12-31,vacation,x\n", "类型"),
    (b"2026-12-31,holiday,\n", "名称"),
    (b"2026-12-31,holiday,a\n2026-12-31,workday,b\n", "重复"),
    (b"20261231,holiday,x\n", "20261231"),
    (b"[1, 2]", "第 1 条"),
    (b'[{"date": "2026-12-31", "kind": "holiday", "name": "a", "extra": 1}]', "extra"),
    (b"{not json", "JSON"),
    (b"\xff\xfe\x00garbage", "编码"),
    # A year chinese-calendar does not know replaces the fallback: it must be the whole schedule.
    (b"2027-02-05,holiday,\xe6\x98\xa5\xe8\x8a\x82\n", "5月1日"),
])
def test_a_bad_schedule_file_is_refused_naming_the_problem(data, says):
    with pytest.raises(ValidationFailed) as exc:
        calendar.parse(data)
    assert exc.value.code == "calendar_file_invalid" and says in exc.value.message


FROZEN = FrozenClock(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))


async def a_load(text: str = SCHEDULE_2027_CSV, name: str = "2027.csv") -> clocks.LoadResult:
    return await clocks.load(calendar.parse(text.encode()), source_name=name, sha256="0" * 64,
                             actor="operator:王运维", clock=FROZEN)


async def test_a_loaded_year_is_official_and_the_load_is_recorded(db):
    assert await calendar.add_working_days(D(2026, 12, 28), 5) == Deadline(D(2027, 1, 5), True)
    result = await a_load()
    assert result.years == [2027]
    cal = await calendar.current()
    assert cal.covers(2027) and cal.source_of(2027) == "loaded"
    assert await calendar.add_working_days(D(2026, 12, 28), 5) == Deadline(D(2027, 1, 5), False)
    assert not (await calendar.day(D(2027, 2, 8))).working  # 春节, now known
    assert (await calendar.day(D(2027, 2, 20))).working  # a make-up Saturday
    assert not (await calendar.day(D(2027, 3, 6))).working  # an ordinary Saturday of a loaded year
    load = await CalendarLoad.get(id=result.load.id)
    assert (load.actor_name, load.entries, load.source_name) == ("operator:王运维", 16, "2027.csv")
    assert await AuditEvent.filter(action="calendar.load", target_id=str(load.id)).exists()
    assert cal.missing_year_warning(D(2026, 12, 15)) is None


async def test_a_later_load_of_a_year_replaces_the_earlier_one_which_stays_as_history(db):
    await a_load()
    corrected = SCHEDULE_2027_CSV.replace("2027-02-20,workday,\n", "2027-02-13,workday,\n")
    await a_load(corrected, "2027-corrected.csv")
    cal = await calendar.current()
    assert cal.is_working_day(D(2027, 2, 13)) and not cal.is_working_day(D(2027, 2, 20))
    assert await CalendarLoad.all().count() == 2 and await CalendarDay.all().count() == 32


async def test_a_load_can_correct_a_year_chinese_calendar_covers(db):
    # A one-off day off announced late (like 2015-09-03): only that date changes, the rest stays.
    await a_load("2026-12-31,holiday,临时放假\n", "2026-extra.csv")
    cal = await calendar.current()
    assert not cal.is_working_day(D(2026, 12, 31)) and cal.day(D(2026, 12, 31)).name == "临时放假"
    assert cal.is_working_day(D(2026, 10, 10))  # chinese-calendar's make-up day still holds
    assert cal.add(D(2026, 12, 29), 1) == Deadline(D(2026, 12, 30), False)
