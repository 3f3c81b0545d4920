"""Which cases count and how (analysis.cases), and "You said, we did"'s small cells
(surveys.cases.summary): by hand and as properties, no database."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.cases import CaseTally, figures, marks, tally
from analysis.facts import CaseGroup
from surveys.cases.summary import CategoryCount, PublicSummary, public_categories, summarize
from surveys.people.names import Names


def group(status: str, outcome: str | None = None, *, on_time: bool | None = None,
          reopened: bool = False, past_due: bool = True, count: int = 1,
          category: str = "roads", unit_id: int = 1, handler_id: int | None = 7) -> CaseGroup:
    return CaseGroup(unit_id=unit_id, handler_id=handler_id, category=category, status=status,
                     outcome=outcome, resolved_on_time=on_time, reopened=reopened,
                     past_due=past_due, count=count)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # Closed as solved: on time from the resolution, confirmed from the answer.
        (group("closed", "confirmed", on_time=True), (100.0, 100.0)),
        (group("closed", "partly", on_time=False), (0.0, 50.0)),
        (group("closed", "not_confirmed", on_time=True), (100.0, None)),
        (group("closed", "unconfirmable", on_time=False), (0.0, None)),
        # "No" twice: not solved, and so not on time either, whatever the resolution said.
        (group("closed", "not_solved", on_time=True, reopened=True), (0.0, 0.0)),
        # Reopened by a first "No": not on time, even when solved and confirmed later.
        (group("taken", on_time=True, reopened=True, past_due=False), (0.0, None)),
        (group("closed", "confirmed", on_time=True, reopened=True), (0.0, 100.0)),
        # Resolved, the answer awaited: on time only once the deadline is over.
        (group("resolved", on_time=True, past_due=True), (100.0, None)),
        (group("resolved", on_time=False, past_due=True), (0.0, None)),
        (group("resolved", on_time=True, past_due=False), (None, None)),
        # Open or taken: late once past the deadline, neither before.
        (group("open", past_due=True), (0.0, None)),
        (group("taken", past_due=False), (None, None)),
        # Not a case of the period at all.
        (group("closed", "rejected"), (None, None)),
        (group("merged", past_due=True), (None, None)),
    ],
)
def test_marks(case: CaseGroup, expected: tuple[float | None, float | None]) -> None:
    assert marks(case) == expected


def the_example() -> list[CaseGroup]:
    """12 settled cases: 9 solved on time, 10 answered (6 yes, 2 partly, 2 no); and one still
    within its deadline, one rejected and two merged into another."""
    return [
        group("closed", "confirmed", on_time=True, count=6),
        group("closed", "partly", on_time=True, count=2, category="sanitation"),
        group("closed", "not_solved", on_time=False, reopened=True, count=2),
        group("closed", "not_confirmed", on_time=True),
        group("open", past_due=True, handler_id=None),
        group("taken", past_due=False),
        group("closed", "rejected", category="fees"),
        group("merged", count=2),
    ]


def test_the_tally_and_its_words() -> None:
    found = tally(the_example())
    assert (found.raised, found.cases, found.on_time, found.pending) == (13, 12, 9, 1)
    assert (found.answered, found.confirmed, found.partly, found.not_solved) == (10, 6, 2, 2)
    assert found.confirmed_value == 7.0
    assert figures(found) == (
        "12 cases: 9 solved on time, 7 of 10 confirmed by residents (6 yes, 2 partly counting"
        " as half, 2 no); 1 more still within the deadline is not counted yet")
    # Each settled case scores the mean of its marks: 6 x 100, 2 x 75 (on time, partly),
    # 2 x 0, 1 x 100 (on time, no answer), 1 x 0 (overdue).
    assert found.observation is not None
    assert found.observation.n == 12
    assert found.observation.total == 850.0
    assert found.observation.total_sq == 6 * 100**2 + 2 * 75**2 + 100**2
    assert found.as_dict() == {"raised": 13, "cases": 12, "on_time": 9, "answered": 10,
                               "confirmed": 6, "partly": 2, "not_solved": 2,
                               "confirmed_value": 7.0}


def test_words_for_nothing_settled_and_nothing_answered() -> None:
    assert figures(tally([group("open", past_due=False, count=3)])) == (
        "no case settled yet; 3 still within the deadline")
    assert figures(tally([])) == "no cases"
    assert figures(tally([group("closed", "unconfirmable", on_time=True)])) == (
        "1 case: 1 solved on time, none answered by residents")
    assert figures(tally([group("closed", "partly", on_time=False)])) == (
        "1 case: 0 solved on time, 0.5 of 1 confirmed by residents (0 yes, 1 partly counting"
        " as half, 0 no)")


def test_no_cases_is_no_observation() -> None:
    assert tally([]) == CaseTally()
    assert tally([group("merged"), group("closed", "rejected")]).observation is None


@given(st.lists(st.tuples(
    st.sampled_from(["open", "taken", "resolved", "closed", "merged"]),
    st.sampled_from([None, "confirmed", "partly", "not_solved", "not_confirmed",
                     "unconfirmable", "rejected"]),
    st.booleans(), st.booleans(), st.booleans(), st.integers(1, 50)), max_size=30),
    st.randoms(use_true_random=False))
def test_the_tally_is_consistent_and_order_free(
        rows: list[tuple[str, str | None, bool, bool, bool, int]], rng: random.Random) -> None:
    groups = [group(s, o, on_time=t, reopened=r, past_due=p, count=n)
              for s, o, t, r, p, n in rows]
    found = tally(groups)
    assert 0 <= found.on_time <= found.cases <= found.raised
    assert found.answered <= found.cases
    shuffled = list(groups)
    rng.shuffle(shuffled)
    assert tally(shuffled) == found, "the same sums whatever order the groups come in"
    if found.observation is not None:
        assert found.observation.n == found.cases
        assert 0 <= found.observation.total <= 100 * found.cases


# --- "You said, we did": small cells ---------------------------------------------------------


def test_small_categories_are_merged_into_other() -> None:
    counts = {"roads": 7, "sanitation": 5, "fees": 2, "waiting": 1, "other": 1}
    assert public_categories(counts, 5) == (
        CategoryCount("roads", 7), CategoryCount("sanitation", 5), CategoryCount("other", 4))
    # Too few cases in all: no breakdown at all.
    assert public_categories({"roads": 3, "fees": 1}, 5) == ()
    # Nothing small: no "other".
    assert public_categories({"roads": 5}, 5) == (CategoryCount("roads", 5),)
    # "Other" is never named as a category of its own, however big.
    assert public_categories({"other": 9, "roads": 1}, 5) == (CategoryCount("other", 10),)


def summary_item(number: str = "C-222222") -> PublicSummary:
    return PublicSummary(number=number, unit_code="V1", unit=Names("Willow Village"),
                         category="roads", said=None, did="Replaced the lamp",
                         outcome="confirmed", on_time=True, reports=1)


def test_confirmations_are_shown_only_from_enough_answers() -> None:
    said = summarize("2026-Q3", the_example(), [summary_item()], min_cell=5)
    assert (said.raised, said.cases, said.on_time, said.pending) == (13, 12, 9, 1)
    assert (said.answered, said.confirmed) == (10, 7.0)
    assert said.confirmed_share == 0.7 and said.on_time_share == 0.75
    # Rejected and merged cases are not counted by category either.
    assert said.categories == (CategoryCount("roads", 11), CategoryCount("other", 2))
    assert said.summaries == (summary_item(),)

    few = summarize("2026-Q3", the_example(), [], min_cell=12)
    assert few.answered is None and few.confirmed is None and few.confirmed_share is None
    assert few.categories == (CategoryCount("other", 13),)
    assert few.on_time == 9, "on time is the handlers' work, not an answer: always shown"

    nothing = summarize("2026-Q3", [], [], min_cell=5)
    assert (nothing.raised, nothing.cases, nothing.categories) == (0, 0, ())
    assert nothing.on_time_share is None
