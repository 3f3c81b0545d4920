"""The pure parts of the /newcampaign dialogue: dates, reminders, recurrence, codes, buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.campaigns.dialogue import (
    InputError,
    WindowInput,
    check_window,
    choice_data,
    parse_choice,
    parse_recurrence_input,
    parse_reminders_input,
    parse_window,
    suggest_code,
)
from surveys.campaigns.rules import CODE_PATTERN

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def error_of(text: str, zone: str = "UTC") -> InputError:
    with pytest.raises(InputError) as caught:
        parse_window(text, NOW, zone)
    return caught.value


def test_now_and_a_length_open_when_the_campaign_is_created() -> None:
    window = parse_window("now 14d", NOW)
    assert window.opens_at is None and window.length == timedelta(days=14)
    assert window.resolve(NOW) == (NOW, NOW + timedelta(days=14))
    later = NOW + timedelta(hours=3)
    assert window.resolve(later) == (later, later + timedelta(days=14)), \
        "a slow confirmation does not start the poll before it exists"
    assert parse_window("14d", NOW) == window, "one token is the closing, opening now"
    assert parse_window("现在 14d", NOW) == window


def test_dates_are_whole_days_in_the_time_zone() -> None:
    window = parse_window("2026-12-01 2026-12-15", NOW)
    assert window.opens_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert window.closes_at == datetime(2026, 12, 16, tzinfo=UTC), "closing: end of that day"
    assert window.timezone == "UTC"
    shanghai = parse_window("2026-12-01 2026-12-15 Asia/Shanghai", NOW)
    assert shanghai.timezone == "Asia/Shanghai"
    assert shanghai.opens_at == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert shanghai.closes_at == datetime(2026, 12, 15, 16, tzinfo=UTC)
    # The zone already chosen at this step applies when none is typed.
    assert parse_window("2026-12-01 2026-12-15", NOW, "Asia/Shanghai") == shanghai


def test_todays_date_opens_now_and_iso_times_and_durations_are_read() -> None:
    today = parse_window("2026-11-20 2026-11-30", NOW)
    assert today.opens_at is None, "today's midnight is past; it means now"
    timed = parse_window("2026-12-01T09:00 2026-12-01T18:00+08:00", NOW, "Asia/Shanghai")
    assert timed.opens_at == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert timed.closes_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    later = parse_window("2d 7d", NOW)
    assert later.opens_at == NOW + timedelta(days=2)
    assert later.resolve(NOW)[1] == NOW + timedelta(days=9), "the length counts from opening"


def test_only_a_time_zone_changes_the_zone_and_gives_no_dates() -> None:
    window = parse_window("Asia/Shanghai", NOW)
    assert window == WindowInput("Asia/Shanghai") and not window.given
    assert parse_window("utc", NOW, "Asia/Shanghai").timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2020-01-01 2020-01-15", "opens_in_past"),
        ("2026-11-19T10:00 2026-12-01", "opens_in_past"),
        ("now 2026-11-01", "closes_in_past"),
        ("2026-12-15 2026-12-01", "wrong_order"),
        ("2026-12-01T18:00 2026-12-01T09:00", "wrong_order"),
        ("2026-12-01 0d", "wrong_order"),
        ("tomorrow 2026-12-01", "bad_time"),
        ("2026-13-01 2026-12-01", "bad_time"),
        ("2026-12-01 2026-12-15 Mars/Olympus_Mons", "bad_timezone"),
        # A directory of the zone database, not a zone (it once escaped as IsADirectoryError).
        ("2026-12-01 2026-12-15 America/Argentina", "bad_timezone"),
        ("2026-12-01 2026-12-10 2026-12-15", "bad_dates"),
    ],
)
def test_bad_dates_say_what_is_wrong(text: str, key: str) -> None:
    assert error_of(text).key == key


def test_a_slow_admin_still_opens_now_but_not_yesterday() -> None:
    typed = parse_window("2026-11-20T10:27 2026-12-01", NOW)
    assert typed.opens_at == NOW - timedelta(minutes=3), "a few minutes late is fine"
    with pytest.raises(InputError) as caught:
        check_window(typed, NOW + timedelta(hours=1))
    assert caught.value.key == "opens_in_past"
    assert caught.value.params["when"] == typed.opens_at


def test_window_survives_the_dialogue_row() -> None:
    for text in ("now 14d", "2026-12-01 2026-12-15 Asia/Shanghai", "2d 7d"):
        window = parse_window(text, NOW)
        assert WindowInput.from_data(window.to_data()) == window


@pytest.mark.parametrize(
    ("text", "stored"),
    [("2d,2h", "2d,2h"), (" 2d, 2h ", "2d,2h"), ("1D", "1d"), ("None", ""), ("无", ""),
     ("", "")],
)
def test_reminders(text: str, stored: str) -> None:
    assert parse_reminders_input(text) == stored


@pytest.mark.parametrize("text", ["5x", "2 days", "1d,2d,3d,4d", "0d"])
def test_unreadable_reminders(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_reminders_input(text)
    assert caught.value.key == "bad_reminders"


@pytest.mark.parametrize(
    ("text", "stored"),
    [("none", ""), ("Monthly", "monthly"), ("quarterly", "quarterly"),
     ("0 9 1 * *", "cron:0 9 1 * *"), ("cron:30 8 * * mon", "cron:30 8 * * mon")],
)
def test_recurrence(text: str, stored: str) -> None:
    assert parse_recurrence_input(text, "Asia/Shanghai") == stored


@pytest.mark.parametrize("text", ["61 25 * * *", "every tuesday", "0 9 1 *", "* * * * * * *"])
def test_a_cron_expression_that_does_not_parse(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_recurrence_input(text, "UTC")
    assert caught.value.key == "bad_cron" and caught.value.params["value"] == text


def test_suggested_codes_use_the_unit_and_the_local_date() -> None:
    opens = datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert suggest_code("V1", opens) == "v1-20261130"
    assert suggest_code("V1", opens, "Asia/Shanghai") == "v1-20261201"
    assert suggest_code("Town Hall #1", opens) == "town_hall_1-20261130"
    assert suggest_code("###", opens) == "poll-20261130"
    assert CODE_PATTERN.fullmatch(suggest_code("X" * 64, opens))


def test_button_data_round_trips_and_forgeries_are_refused() -> None:
    data = choice_data("a1b2c3", 12, "u345")
    assert parse_choice(data) == ("a1b2c3", 12, "u345")
    for forged in ("d:a1b2c3:12:", "d:zzzzzz:1:s0", "d:a1b2c3:x:s0", "p:1:0:v1", "",
                   None, "d:a1b2c3:1:s0;drop", "d:a1b2c3:1:" + "u" * 3, "d:a1b2c3:1:u٣"):
        assert parse_choice(forged) is None, forged


@given(version=st.integers(0, 999_999_999),
       choice=st.from_regex(r"[a-z]{1,2}[0-9]{0,9}", fullmatch=True))
def test_dialogue_buttons_fit_telegrams_64_bytes(version: int, choice: str) -> None:
    data = choice_data("ffffff", version, choice)
    assert len(data.encode()) <= 64
    assert parse_choice(data) == ("ffffff", version, choice)
