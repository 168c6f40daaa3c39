"""`yangguang workdays` and `yangguang calendar` as an operator runs them."""

from __future__ import annotations

from datetime import date, datetime

from backend.clock import SHANGHAI, FrozenClock
from backend.models import CalendarLoad, Decision
from tests.services.test_calendar import SCHEDULE_2027_CSV
from tests.services.test_publication_clocks import a_decision
from tests.support.processes import cli_env, run_cli


def env_of(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return cli_env(db.database_url, db.data_dir)


async def test_workdays_add_prints_the_date_first_and_only_then_provisional(db):
    env = env_of(db)
    result = run_cli(["workdays", "add", "2026-09-30", "3"], env)  # National Day 2026, Saturday 10-10 worked
    assert (result.returncode, result.stdout, result.stderr) == (0, "2026-10-10\n", "")
    result = run_cli(["workdays", "add", "2026-12-28", "5"], env)  # into 2027, which no source covers
    assert (result.returncode, result.stdout) == (0, "2027-01-05 provisional\n")
    assert run_cli(["workdays", "day", "2026-10-10"], env).stdout == "2026-10-10 workday 调休上班 chinese_calendar\n"
    for args in (["2026-02-30", "3"], ["2026-12-01", "-1"], ["2026-12-01", "1001"], ["tomorrow", "1"]):
        bad = run_cli(["workdays", "add", *args], env)
        assert bad.returncode == 1 and bad.stdout == "" and bad.stderr.startswith("错误: "), (args, bad.stderr)
        assert "Traceback" not in bad.stderr


async def test_calendar_show_says_where_a_year_comes_from(db):
    env = env_of(db)
    shown = run_cli(["calendar", "show", "2026"], env).stdout.splitlines()
    assert "chinese-calendar" in shown[0]
    assert "2026-02-14\tworkday\t调休上班\tchinese_calendar" in shown
    assert "2026-10-01\tholiday\t国庆节\tchinese_calendar" in shown
    missing = run_cli(["calendar", "show", "2027"], env).stdout.splitlines()
    assert "未载入" in missing[0] and "provisional" in missing[0] and "春节" in missing[0]
    assert missing[1:-1] == [f"2027-{d}\tholiday\t{n}\tfallback" for d, n in (
        ("01-01", "元旦"), ("05-01", "劳动节"), ("05-02", "劳动节"), ("10-01", "国庆节"), ("10-02", "国庆节"),
        ("10-03", "国庆节"))]
    assert run_cli(["calendar", "show", "20x7"], env).returncode == 1


async def test_calendar_load_makes_the_year_official_and_recomputes_stored_deadlines(db, tmp_path):
    env = env_of(db)
    clock = FrozenClock(datetime(2026, 12, 24, 10, 0, tzinfo=SHANGHAI))
    permit = await a_decision(clock, "permit", date(2026, 12, 24))
    assert permit.publish_due_on_provisional

    bad = tmp_path / "bad.csv"
    bad.write_text("2027-02-05,holiday,春节\n", encoding="utf-8")  # not the whole year
    refused = run_cli(["calendar", "load", str(bad)], env)
    assert refused.returncode == 1 and "calendar_file_invalid" in refused.stderr and "5月1日" in refused.stderr
    assert await CalendarLoad.all().count() == 0

    schedule = tmp_path / "2027.csv"
    schedule.write_text(SCHEDULE_2027_CSV, encoding="utf-8")
    loaded = run_cli(["calendar", "load", str(schedule), "--by", "王运维"], env)
    assert loaded.returncode == 0, loaded.stderr
    assert "2027" in loaded.stdout and "1 个暂定期限已按官方安排确认" in loaded.stdout
    row = await Decision.get(id=permit.id)
    assert (row.publish_due_on, row.publish_due_on_provisional) == (date(2027, 1, 5), False)
    assert (await CalendarLoad.get()).actor_name == "operator:王运维"
    assert run_cli(["workdays", "add", "2026-12-28", "5"], env).stdout == "2027-01-05\n"
    assert run_cli(["workdays", "add", "2027-02-04", "1"], env).stdout == "2027-02-15\n"  # 春节 as loaded
    shown = run_cli(["calendar", "show", "2027"], env).stdout.splitlines()
    assert "yangguang calendar load" in shown[0] and "2027-02-20\tworkday\t调休上班\tloaded" in shown
