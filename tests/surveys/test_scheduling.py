"""Campaign steps: when each runs, what happens to steps missed during downtime, recurrences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.models import Campaign, CampaignStatus
from surveys.campaigns.operations import successor_code
from surveys.campaigns.rules import (
    CampaignRuleError,
    Recurrence,
    check_code,
    check_transition,
    deep_link,
    is_open,
    parse_recurrence,
    parse_start_payload,
    recurrence_from_str,
)
from surveys.campaigns.scheduling import campaign_jobs, month_bounds, plan

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def campaign(status: CampaignStatus = CampaignStatus.SCHEDULED, reminders: tuple[int, ...] = (
        2 * 86400, 2 * 3600), recurrence: str | None = None) -> Campaign:
    return Campaign(id=7, code="willow", status=status, opens_at=T0,
                    closes_at=T0 + timedelta(days=14), reminders=list(reminders),
                    recurrence=recurrence, audience="residents", timezone="UTC")


def names(jobs: list) -> list[str]:  # type: ignore[type-arg]
    return [j.name for j in jobs]


@pytest.mark.parametrize(("status", "at", "expected"), [
    (CampaignStatus.DRAFT, T0 + timedelta(days=1), False),
    (CampaignStatus.SCHEDULED, T0 - timedelta(seconds=1), False),
    # The window decides: scheduled but past its opening time is open, before the scheduler
    # has flipped the status, and open but past its closing time is over.
    (CampaignStatus.SCHEDULED, T0, True),
    (CampaignStatus.OPEN, T0 + timedelta(days=1), True),
    (CampaignStatus.OPEN, T0 + timedelta(days=14), False),
    (CampaignStatus.CLOSED, T0 + timedelta(days=1), False),
])
def test_a_campaign_is_open_when_live_and_inside_its_window(
    status: CampaignStatus, at: datetime, expected: bool
) -> None:
    assert is_open(campaign(status), at) is expected


def test_steps_come_in_time_order_and_closing_comes_last() -> None:
    jobs = campaign_jobs(campaign(recurrence="monthly"))
    assert names(jobs) == ["open", "invite", "recur", "remind:172800", "remind:7200", "close"]
    assert jobs[3].at == T0 + timedelta(days=12)
    assert jobs[-1].at == T0 + timedelta(days=14)


def test_an_open_campaign_has_no_open_step_and_a_closed_one_has_none() -> None:
    assert "open" not in names(campaign_jobs(campaign(CampaignStatus.OPEN)))
    assert campaign_jobs(campaign(CampaignStatus.CLOSED)) == []
    assert campaign_jobs(campaign(CampaignStatus.DRAFT)) == []


def test_nothing_runs_twice() -> None:
    jobs = campaign_jobs(campaign())
    result = plan(jobs, {"open", "invite"}, T0 + timedelta(hours=1))
    assert result.run_now == [] and result.skip == []
    assert names(result.later) == ["remind:172800", "remind:7200", "close"]


def test_after_downtime_only_the_latest_missed_reminder_goes_out() -> None:
    jobs = campaign_jobs(campaign())
    result = plan(jobs, {"open", "invite"}, T0 + timedelta(days=13, hours=23))
    assert names(result.run_now) == ["remind:7200"]
    assert [(j.name, "later" in reason) for j, reason in result.skip] == [
        ("remind:172800", True)
    ]
    assert names(result.later) == ["close"]


def test_after_downtime_past_its_closing_a_campaign_is_only_closed() -> None:
    jobs = campaign_jobs(campaign())
    result = plan(jobs, set(), T0 + timedelta(days=20))
    assert names(result.run_now) == ["open", "close"]
    assert sorted(j.name for j, _ in result.skip) == ["invite", "remind:172800", "remind:7200"]
    assert result.later == []


def test_a_monthly_series_keeps_the_day_or_falls_back_to_the_months_end() -> None:
    monthly = Recurrence("monthly")
    jan31 = datetime(2027, 1, 31, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    feb = monthly.next_opening(jan31, "Asia/Shanghai")
    assert feb == datetime(2027, 2, 28, 1, 0, tzinfo=UTC)
    assert Recurrence("quarterly").next_opening(T0, "UTC") == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert monthly.next_opening(datetime(2026, 12, 15, tzinfo=UTC), "UTC") == datetime(
        2027, 1, 15, tzinfo=UTC)


def test_a_monthly_series_keeps_local_time_across_daylight_saving() -> None:
    # 09:00 in Berlin in March (UTC+1) is 09:00 in April (UTC+2).
    march = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
    april = Recurrence("monthly").next_opening(march, "Europe/Berlin")
    assert april == datetime(2027, 4, 10, 7, 0, tzinfo=UTC)


def test_a_cron_series_fires_at_the_next_match() -> None:
    weekly = parse_recurrence("0 9 * * 1", "UTC")  # Mondays at 09:00
    assert weekly is not None
    assert str(weekly) == "cron:0 9 * * 1"
    assert recurrence_from_str(str(weekly)) == weekly
    # 2026-12-01 is a Tuesday.
    assert weekly.next_opening(T0, "UTC") == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["every day", "61 * * * *", "* * *", "0 9 * * mon-xyz"])
def test_a_cron_expression_that_does_not_parse_is_refused(bad: str) -> None:
    with pytest.raises(CampaignRuleError, match="monthly, quarterly or a cron expression"):
        parse_recurrence(bad)


def test_successor_codes_are_dated_unique_and_valid() -> None:
    assert successor_code("willow", T0, set()) == "willow-20261201"
    assert successor_code("willow", T0, {"willow-20261201"}) == "willow-20261201-2"
    long = "x" * 40
    assert len(successor_code(long, T0, set())) <= 40


def test_entry_points_ride_in_the_start_payload() -> None:
    link = deep_link("WillowBot", "willow", "window3")
    assert link == "https://t.me/WillowBot?start=willow--window3"
    payload = parse_start_payload("willow--window3")
    assert payload is not None and (payload.code, payload.entry) == ("willow", "window3")
    plain = parse_start_payload("willow")
    assert plain is not None and plain.entry is None
    assert parse_start_payload("willow--bad!") is None
    assert len(link.split("=", 1)[1]) <= 64


def test_codes_cannot_contain_the_entry_separator() -> None:
    with pytest.raises(CampaignRuleError):
        check_code("bad--code")


def test_the_lifecycle_only_moves_forward() -> None:
    check_transition("c", CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
    check_transition("c", CampaignStatus.SCHEDULED, CampaignStatus.OPEN)
    check_transition("c", CampaignStatus.OPEN, CampaignStatus.CLOSED)
    for current, new in [(CampaignStatus.CLOSED, CampaignStatus.OPEN),
                         (CampaignStatus.OPEN, CampaignStatus.SCHEDULED),
                         (CampaignStatus.OPEN, CampaignStatus.DRAFT)]:
        with pytest.raises(CampaignRuleError, match="cannot become"):
            check_transition("c", current, new)


def test_the_budget_counts_calendar_months() -> None:
    start, end = month_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("expression", "weekday"), [
    ("0 9 * * 0", "Sunday"), ("0 9 * * 7", "Sunday"), ("0 9 * * 1-5", "Tuesday"),
    ("0 9 * * 5", "Friday"), ("0 9 * * sat", "Saturday"), ("0 9 * * */2", "Tuesday"),
    ("0 9 * * 1/2", "Wednesday"), ("0 9 * * 3,6", "Wednesday"),
])
def test_weekdays_are_numbered_as_in_crontab(expression: str, weekday: str) -> None:
    # From Tuesday 2026-12-01 08:00 UTC; 0 and 7 are Sunday, 1 is Monday as in crontab.
    recurrence = parse_recurrence(expression)
    assert recurrence is not None
    nxt = recurrence.next_opening(T0, "UTC")
    assert (nxt.hour, nxt.strftime("%A")) == (9, weekday)


def test_a_reminder_missed_together_with_the_invitation_is_not_sent_behind_it() -> None:
    jobs = campaign_jobs(campaign())
    result = plan(jobs, set(), T0 + timedelta(days=13))
    assert names(result.run_now) == ["open", "invite"]
    assert [j.name for j, _ in result.skip] == ["remind:172800"]


def test_a_series_code_never_gets_a_double_dash() -> None:
    assert successor_code("spring-", T0, set()) == "spring-20261201"
    assert "--" not in successor_code("a" * 27 + "-" + "b" * 5, T0, set())


def test_a_monthly_series_returns_to_its_day_after_a_short_month() -> None:
    monthly = Recurrence("monthly")
    first = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    feb = monthly.next_opening(first, "UTC", anchor=first)
    march = monthly.next_opening(feb, "UTC", anchor=first)
    april = monthly.next_opening(march, "UTC", anchor=first)
    assert [feb.day, march.day, april.day] == [28, 31, 30]


@pytest.mark.parametrize(("expression", "weekday"), [
    ("0 9 * * 0-3", "Tuesday"), ("0 9 * * 0-6", "Tuesday"), ("0 9 * * 4-7", "Thursday"),
])
def test_weekday_ranges_starting_on_sunday_work(expression: str, weekday: str) -> None:
    recurrence = parse_recurrence(expression)
    assert recurrence is not None
    assert recurrence.next_opening(T0, "UTC").strftime("%A") == weekday


def test_an_out_of_range_weekday_is_refused() -> None:
    with pytest.raises(CampaignRuleError):
        parse_recurrence("0 9 * * 8")
