"""The hold's rules (surveys/cases/holding.py): when a resident's entry reaches staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.cases.holding import MAX_WINDOW, ceil_to, held_until, is_held, release_at, shown
from surveys.respondents.anonymity import coarse

MINUTE = timedelta(minutes=1)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return NOON + timedelta(minutes=minutes)


@pytest.mark.parametrize(("written", "released"), [
    (0, 15), (4.5, 15), (9.99, 15),  # privacy window 12:00-12:10: the 12:15 release
    (10, 30), (14.99, 30), (17, 30), (29.99, 30),  # 12:10-12:30: ends after 12:15
    (30, 45), (39, 45), (40, 60), (59, 60),
])
def test_a_window_ends_after_the_privacy_window_of_the_entry(written: float,
                                                             released: float) -> None:
    assert release_at(at(written), 10 * MINUTE, 15 * MINUTE) == at(released)


@pytest.mark.parametrize(("written", "released"), [(0, 20), (9, 20), (10, 20), (19.9, 20),
                                                   (20, 40), (31, 40)])
def test_a_window_a_multiple_of_the_resolution_is_the_window_it_was_written_in(
    written: float, released: float,
) -> None:
    assert release_at(at(written), 10 * MINUTE, 20 * MINUTE) == at(released)


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (naive bounds)
                           max_value=datetime(2100, 1, 1),  # noqa: DTZ001
                           timezones=st.just(UTC)),
       resolution=st.integers(1, 60), window=st.integers(1, 60))
def test_release_is_later_than_the_entry_bounded_and_told_by_its_coarse_time(
    moment: datetime, resolution: int, window: int,
) -> None:
    step, hold = resolution * MINUTE, window * MINUTE
    released = release_at(moment, step, hold)
    assert moment < released <= moment + step + hold
    assert ceil_to(released, hold) == released, "aligned on the clock"
    # The coarse time the entry keeps says as much: the release dates nothing finer.
    assert released == release_at(coarse(moment, step), step, hold)


def test_every_entry_of_a_window_is_released_together() -> None:
    written = [at(10 + i * 0.37) for i in range(50)]  # 12:10 to 12:28
    assert {release_at(w, 10 * MINUTE, 15 * MINUTE) for w in written} == {at(30)}


def test_off_holds_nothing_and_the_longest_hold_is_small() -> None:
    assert held_until(NOON, 10 * MINUTE, None) is None
    assert held_until(NOON, 10 * MINUTE, 15 * MINUTE) == at(15)
    assert timedelta(hours=1) >= MAX_WINDOW


@dataclass
class Item:
    name: str
    held_until: datetime | None


def test_staff_see_what_is_not_held_any_more() -> None:
    items = [Item("staff", None), Item("released", at(15)), Item("held", at(30))]
    assert not is_held(None, NOON)
    assert is_held(at(15), at(14.99)) and not is_held(at(15), at(15))
    assert [i.name for i in shown(items, at(15))] == ["staff", "released"]
    assert [i.name for i in shown(items, at(30))] == ["staff", "released", "held"]


def test_ceil_to_keeps_a_boundary() -> None:
    assert ceil_to(at(15), 15 * MINUTE) == at(15)
    assert ceil_to(at(15.001), 15 * MINUTE) == at(30)
