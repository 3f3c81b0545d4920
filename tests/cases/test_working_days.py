"""Deadlines in working days with holidays and make-up working days (surveys/cases/rules.py),
from config.yaml through the settings (bot/settings.py, bot/app.py) to a case's deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.app import cases_of
from bot.settings import ConfigError, load_settings
from surveys.cases import rules

# China's National Day week of 2026 as a deployment would configure it: Thursday 1 to
# Wednesday 7 October off (the weekdays among them holidays), Saturday 10 October worked.
HOLIDAYS = ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"]
MAKEUP = ["2026-10-10"]


def config(tmp_path: Path, holidays: list[str], makeup: list[str]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("cases:\n  time_zone: Asia/Shanghai\n"
                    f"  holidays: [{', '.join(holidays)}]\n"
                    f"  makeup_days: [{', '.join(makeup)}]\n")
    return path


def test_a_make_up_day_counts_and_holidays_do_not() -> None:
    holidays = frozenset(date.fromisoformat(d) for d in HOLIDAYS)
    makeup = frozenset(date.fromisoformat(d) for d in MAKEUP)
    wednesday = date(2026, 9, 30)
    # Thursday 1 .. Wednesday 7 off; Thursday 8, Friday 9, then the Saturday worked.
    assert rules.add_working_days(wednesday, 1, holidays) == date(2026, 10, 8)
    assert rules.add_working_days(wednesday, 3, holidays) == date(2026, 10, 12)
    assert rules.add_working_days(wednesday, 3, holidays, makeup) == date(2026, 10, 10)
    assert rules.is_working_day(date(2026, 10, 10), holidays, makeup)
    assert not rules.is_working_day(date(2026, 10, 11), holidays, makeup)


def test_the_configured_calendar_sets_the_deadline_in_the_case_time_zone(
        tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, HOLIDAYS, MAKEUP), environ={})
    case_rules = cases_of(settings)
    assert case_rules.makeup_days == {date(2026, 10, 10)}
    opened = date(2026, 9, 30)
    assert case_rules.due_on("sanitation", opened) == date(2026, 10, 10)  # 3 working days
    # The end of that Saturday in Shanghai: 16:00 UTC.
    assert case_rules.due("sanitation", opened) == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("holidays", "makeup", "said"), [
    ([], ["2026-10-09"], "must be a Saturday or a Sunday"),
    (["2026-10-10"], ["2026-10-10"], "both a holiday and a make-up working day"),
    (["2026-13-01"], [], "cases.holidays"),
])
def test_a_wrong_calendar_is_refused_with_the_reason(tmp_path: Path, holidays: list[str],
                                                     makeup: list[str], said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(config(tmp_path, holidays, makeup), environ={})
    assert said in str(refused.value)
