"""The case loop's pure rules: deadlines in working days, numbers, seals."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.models import CaseOutcome, CaseStatus
from surveys.cases import rules, sealing
from surveys.cases.rules import CaseRules

SECRET = b"test-secret-key-0123456789abcdef"


def test_working_days_skip_weekends_and_holidays() -> None:
    friday = date(2026, 12, 4)
    assert rules.add_working_days(friday, 1) == date(2026, 12, 7)  # Monday
    assert rules.add_working_days(friday, 2) == date(2026, 12, 8)
    assert rules.add_working_days(friday, 2, frozenset({date(2026, 12, 7)})) == date(2026, 12, 9)
    assert rules.add_working_days(friday, 0) == friday


def test_the_deadline_is_the_end_of_the_last_working_day_in_the_case_time_zone() -> None:
    shanghai = CaseRules(default_working_days=2, time_zone="Asia/Shanghai",
                         working_days={"roads": 10})
    # Friday 4 December: two working days end at Tuesday midnight in Shanghai (16:00 UTC).
    assert shanghai.due("waiting", date(2026, 12, 4)) == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
    assert shanghai.working_days_for("roads") == 10
    # 20:00 UTC on Friday is already Saturday in Shanghai.
    assert shanghai.today(datetime(2026, 12, 4, 20, 0, tzinfo=UTC)) == date(2026, 12, 5)


def test_numbers_are_random_and_read_back_however_typed() -> None:
    numbers = {rules.new_number() for _ in range(200)}
    assert len(numbers) == 200
    number = next(iter(numbers))
    assert rules.normalise_number(number.lower()) == number
    assert rules.normalise_number(number.removeprefix("C-")) == number
    assert rules.normalise_number("C-" + " ".join(number[2:])) == number
    assert rules.normalise_number("C-0OIL11") is None  # letters a number never has
    assert rules.normalise_number("C-" + "A" * 40) is None
    assert rules.normalise_number("") is None
    # A number's own C is not taken for the prefix.
    assert rules.normalise_number("cwh69g") == rules.normalise_number("C-CWH69G") == "C-CWH69G"


def test_transitions_and_answers() -> None:
    assert rules.may_move(CaseStatus.OPEN, CaseStatus.TAKEN)
    assert not rules.may_move(CaseStatus.CLOSED, CaseStatus.TAKEN)
    assert not rules.may_move(CaseStatus.OPEN, CaseStatus.RESOLVED)  # take it first
    assert rules.outcome_of_answer(rules.YES, 0) == CaseOutcome.CONFIRMED
    assert rules.outcome_of_answer(rules.PARTLY, 0) == CaseOutcome.PARTLY
    assert rules.outcome_of_answer(rules.NO, 0) is None  # reopened once
    assert rules.outcome_of_answer(rules.NO, 1) == CaseOutcome.NOT_SOLVED


def test_a_seal_opens_only_with_the_secret_and_for_its_own_case() -> None:
    reporter = sealing.Reporter(sealing.quota_key(SECRET, 42), chat_id=987_654_321, language="zh")
    sealed = sealing.seal(SECRET, 7, reporter)
    assert "987654321" not in sealed
    assert sealing.unseal(SECRET, 7, sealed) == reporter
    assert sealing.unseal(b"another-secret-key-0123456789abc", 7, sealed) is None
    assert sealing.unseal(SECRET, 8, sealed) is None  # copied onto another case
    assert sealing.unseal(SECRET, 7, "not base64!") is None
    assert sealing.unseal(SECRET, 7, sealed[:-4] + "AAAA") is None
    silent = sealing.Reporter(sealing.quota_key(SECRET, 42))
    assert not silent.reachable
    assert sealing.unseal(SECRET, 7, sealing.seal(SECRET, 7, silent)) == silent


def test_keys_differ_per_purpose_and_person() -> None:
    assert sealing.draft_key(SECRET, 1) != sealing.quota_key(SECRET, 1)
    assert sealing.draft_key(SECRET, 1) != sealing.draft_key(SECRET, 2)
    assert len(sealing.draft_key(SECRET, 1)) == 64
