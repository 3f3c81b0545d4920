"""The questionnaire engine: validation and parsing per type, and the navigation rules."""

from __future__ import annotations

from typing import Any

import pytest

from surveys.questionnaire import engine
from surveys.questionnaire.engine import InvalidAnswer, Progress, State
from surveys.questionnaire.schema import AnswerValue, Question
from tests.surveys.factories import lt, options, q, question, survey

RATING = question("rating")
NPS = question("nps")
NUMBER = question("number", min=-10, max=5000)
DECIMAL = question("number", min=0, max=10, integer=False)
SINGLE = question("single", options=[
    {"value": "slow", "label": lt("Too slow", "太慢")},
    {"value": "rude", "label": lt("Unfriendly", "态度差")},
    {"value": "other", "label": lt("Something else", "其他")},
])
MULTI = question("multi", options=options("a", "b", "c", "d"), max_choices=3)
MULTI_MIN2 = question("multi", options=options("a", "b", "c"), min_choices=2)
YESNO = question("yesno")
TEXT = question("text")
SHORT_TEXT = question("text", max_length=10)
OPTIONAL = question("rating", required=False)


def code_of(fn: Any, *args: Any) -> str:
    with pytest.raises(InvalidAnswer) as info:
        fn(*args)
    return info.value.code


# --- validate: typed (button) values ------------------------------------------------------


@pytest.mark.parametrize(
    ("quest", "value", "expected"),
    [
        (RATING, 1, 1), (RATING, 5, 5), (RATING, 3.0, 3),
        (NPS, 0, 0), (NPS, 10, 10),
        (NUMBER, -10, -10), (NUMBER, 5000, 5000), (NUMBER, 12.0, 12),
        (DECIMAL, 2.5, 2.5), (DECIMAL, 3, 3.0), (DECIMAL, 0, 0.0),
        (SINGLE, "rude", "rude"),
        (MULTI, ["c", "a"], ["a", "c"]), (MULTI, ("b",), ["b"]),
        (MULTI, ["a", "a", "b"], ["a", "b"]),
        (MULTI, "d", ["d"]),
        (YESNO, True, True), (YESNO, False, False),
        (TEXT, "  fine  ", "fine"), (TEXT, "路灯修好了 thanks 👍", "路灯修好了 thanks 👍"),
        (OPTIONAL, None, None),
    ],
)
def test_validate_accepts(quest: Question, value: Any, expected: Any) -> None:
    result = engine.validate(quest, value)
    assert result == expected
    assert type(result) is type(expected)
    # Canonical values validate to themselves (restore relies on it).
    assert engine.validate(quest, result) == result


@pytest.mark.parametrize(
    ("quest", "value", "code"),
    [
        (RATING, None, "required"),
        (RATING, 0, "out_of_range"), (RATING, 6, "out_of_range"), (RATING, -1, "out_of_range"),
        (RATING, 3.5, "not_an_integer"), (RATING, True, "not_a_number"),
        (RATING, "4", "not_a_number"), (RATING, float("nan"), "not_a_number"),
        (NPS, 11, "out_of_range"), (NPS, -1, "out_of_range"),
        (NUMBER, 5001, "out_of_range"), (NUMBER, -11, "out_of_range"),
        (NUMBER, 1.5, "not_an_integer"), (NUMBER, float("inf"), "not_a_number"),
        (DECIMAL, 10.01, "out_of_range"), (DECIMAL, False, "not_a_number"),
        (SINGLE, "nope", "unknown_option"), (SINGLE, 1, "unknown_option"),
        (MULTI, [], "too_few_choices"), (MULTI, ["a", "b", "c", "d"], "too_many_choices"),
        (MULTI, ["a", "zzz"], "unknown_option"), (MULTI, [1], "unknown_option"),
        (MULTI, 3, "unknown_option"), (MULTI_MIN2, ["a"], "too_few_choices"),
        (YESNO, "yes", "expects_button"), (YESNO, 1, "expects_button"),
        (TEXT, "   ", "empty"), (TEXT, "", "empty"), (TEXT, 42, "empty"),
        (SHORT_TEXT, "x" * 11, "too_long"),
    ],
)
def test_validate_rejects(quest: Question, value: Any, code: str) -> None:
    assert code_of(engine.validate, quest, value) == code


def test_out_of_range_reports_bounds() -> None:
    with pytest.raises(InvalidAnswer) as info:
        engine.validate(RATING, 9)
    assert info.value.params == {"min": 1, "max": 5}
    with pytest.raises(InvalidAnswer) as info:
        engine.validate(DECIMAL, 11.5)
    assert info.value.params == {"min": 0, "max": 10}


def test_too_long_counts_code_points_and_reports_lengths() -> None:
    with pytest.raises(InvalidAnswer) as info:
        engine.validate(TEXT, "a" * 5000)
    assert info.value.code == "too_long"
    assert info.value.params == {"max_length": 500, "length": 5000}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("a" * 500, True), ("a" * 501, False),
        ("👍" * 500, True), ("👍" * 501, False),  # one code point each (4 UTF-8 bytes)
        ("好" * 500, True), ("好" * 501, False),
        ("👨‍👩‍👧" * 100, True), ("👨‍👩‍👧" * 101, False),  # 5 code points per family emoji
        ("  " + "x" * 500 + "  \n", True),  # surrounding whitespace does not count
    ],
)
def test_text_limit_in_code_points(text: str, ok: bool) -> None:
    if ok:
        assert len(engine.validate(TEXT, text)) <= 500  # type: ignore[arg-type]
    else:
        assert code_of(engine.validate, TEXT, text) == "too_long"


def test_text_drops_control_characters_but_keeps_lines() -> None:
    assert engine.validate(TEXT, "a\x00b\r\nc\td\x1b") == "ab\nc\td"
    assert engine.validate(TEXT, "bad \ud800 surrogate") == "bad  surrogate"
    assert code_of(engine.validate, TEXT, "\x00\x01 ") == "invisible"
    assert code_of(engine.validate, TEXT, "   ") == "empty"


@pytest.mark.parametrize("text", [
    "\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u200b \u200e\u200f ", "\u3164\u115f",
    "\u2800", "\ufe0f\u034f", "\u00ad\u180e", "\U000e0041\U000e007f", "\x00\u200b\x7f",
])
def test_a_comment_of_only_invisible_characters_is_refused(text: str) -> None:
    assert code_of(engine.validate, TEXT, text) == "invisible"
    assert code_of(engine.parse_text, TEXT, text) == "invisible"


def test_comments_are_stored_in_nfc_keeping_joiners_inside_visible_text() -> None:
    assert engine.validate(TEXT, "Cafe\u0301 \u200bok\u200b") == "Café \u200bok"
    family = "👨\u200d👩\u200d👧"
    assert engine.validate(TEXT, f"\u200b{family}\ufeff") == family


# --- parse_text: typed messages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quest", "text", "expected"),
    [
        (RATING, "4", 4), (RATING, " 5 ", 5), (RATING, "4 stars", 4), (RATING, "1 star", 1),
        (RATING, "４", 4), (RATING, "５星", 5), (RATING, "4分", 4), (RATING, "四", 4),
        (RATING, "三星", 3), (RATING, "four", 4), (RATING, "Four Stars!", 4), (RATING, "3/5", 3),
        (RATING, "★★★", 3), (RATING, "⭐⭐⭐⭐", 4), (RATING, "⭐️⭐️", 2), (RATING, "4.", 4),
        (NPS, "0", 0), (NPS, "10", 10), (NPS, "１０", 10), (NPS, "9分", 9), (NPS, "十", 10),
        (NUMBER, "12", 12), (NUMBER, "1,200", 1200), (NUMBER, "12 项", 12), (NUMBER, "12个", 12),
        (NUMBER, "-5", -5), (NUMBER, "－５", -5), (NUMBER, "3.0", 3), (NUMBER, "12 tasks", 12),
        (DECIMAL, "2.5", 2.5), (DECIMAL, "4", 4.0), (DECIMAL, ".5", 0.5), (DECIMAL, "２.５", 2.5),
        (YESNO, "yes", True), (YESNO, "Y", True), (YESNO, "YES!", True), (YESNO, "ｙｅｓ", True),
        (YESNO, "是", True), (YESNO, "是的", True), (YESNO, "对", True), (YESNO, "👍", True),
        (YESNO, "no", False), (YESNO, "n", False), (YESNO, "否", False), (YESNO, "不", False),
        (YESNO, "没有", False), (YESNO, "No.", False),
        (SINGLE, "1", "slow"), (SINGLE, "３", "other"), (SINGLE, "too slow", "slow"),
        (SINGLE, "TOO SLOW", "slow"), (SINGLE, "态度差", "rude"), (SINGLE, "rude", "rude"),
        (SINGLE, "Something else.", "other"),
        (MULTI, "1,3", ["a", "c"]), (MULTI, "3, 1", ["a", "c"]), (MULTI, "1，2", ["a", "b"]),
        (MULTI, "选项a、选项b", ["a", "b"]), (MULTI, "A and D", ["a", "d"]), (MULTI, "b", ["b"]),
        (MULTI, "1,1", ["a"]),
        (TEXT, "  路灯坏了 the lamp is broken 🙏  ", "路灯坏了 the lamp is broken 🙏"),
        (TEXT, "١٢٣ ελληνικά русский 日本語", "١٢٣ ελληνικά русский 日本語"),
        (TEXT, "４", "４"),  # free text is kept as typed, not normalised
    ],
)
def test_parse_text_accepts(quest: Question, text: str, expected: Any) -> None:
    result = engine.parse_text(quest, text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("quest", "text", "code"),
    [
        (RATING, "", "empty"), (RATING, "   ", "empty"),
        (RATING, "6", "out_of_range"), (RATING, "0", "out_of_range"),
        (RATING, "６", "out_of_range"),
        (RATING, "4.5", "not_an_integer"), (RATING, "great", "expects_button"),
        (RATING, "4 or 5", "expects_button"), (RATING, "★★★★★★", "out_of_range"),
        (NPS, "11", "out_of_range"), (NPS, "-1", "out_of_range"), (NPS, "maybe", "expects_button"),
        (NUMBER, "abc", "not_a_number"), (NUMBER, "1.5", "not_an_integer"),
        (NUMBER, "5001", "out_of_range"), (NUMBER, "1,2", "not_a_number"),
        (NUMBER, "12 to 15", "not_a_number"), (NUMBER, "1" * 50, "not_a_number"),
        (NUMBER, "nan", "not_a_number"), (NUMBER, "inf", "not_a_number"),
        (DECIMAL, "10.5", "out_of_range"),
        (YESNO, "maybe", "expects_button"), (YESNO, "3", "expects_button"),
        (SINGLE, "4", "unknown_option"), (SINGLE, "0", "unknown_option"),
        (SINGLE, "fast", "expects_button"),
        (MULTI, "1,2,3,4", "too_many_choices"), (MULTI, "1, x", "expects_button"),
        (MULTI, "9", "unknown_option"), (MULTI_MIN2, "1", "too_few_choices"),
        (TEXT, " \n\t ", "empty"), (TEXT, "x" * 5000, "too_long"),
    ],
)
def test_parse_text_rejects(quest: Question, text: str, code: str) -> None:
    assert code_of(engine.parse_text, quest, text) == code


# --- navigation ----------------------------------------------------------------------------

FLOW = survey(
    q("q1", "rating"),
    q("q2", "single", show_if={"question": "q1", "lte": 2}),
    q("q3", "yesno"),
    q("q4", "multi", show_if={"question": "q3", "equals": True}),
    q("q5", "text", required=False, show_if={"question": "q4", "answered": True}),
    q("q6", "number", required=False),
)


def ids(questions: list[Question]) -> list[str]:
    return [x.id for x in questions]


def walk(values: list[Any]) -> State:
    state = engine.start(FLOW)
    for value in values:
        state = engine.answer(FLOW, state, value)
    return state


def test_start_asks_the_first_question() -> None:
    state = engine.start(FLOW)
    assert state == State({}, "q1")
    assert engine.current_question(FLOW, state) is FLOW.questions[0]
    assert engine.progress(FLOW, state) == Progress(position=1, total=3, answered=0)


def test_show_if_adds_and_hides_questions() -> None:
    assert ids(engine.visible_questions(FLOW, {})) == ["q1", "q3", "q6"]
    assert ids(engine.visible_questions(FLOW, {"q1": 2})) == ["q1", "q2", "q3", "q6"]
    assert ids(engine.visible_questions(FLOW, {"q1": 3, "q3": True})) == ["q1", "q3", "q4", "q6"]
    every: dict[str, AnswerValue] = {"q1": 1, "q2": "a", "q3": True, "q4": ["a"]}
    assert ids(engine.visible_questions(FLOW, every)) == ["q1", "q2", "q3", "q4", "q5", "q6"]


def test_hiding_a_question_also_hides_what_depends_on_it() -> None:
    # q4's answer is kept, but with q3 = no, q4 is hidden and so q5 must be too.
    answers: dict[str, AnswerValue] = {"q1": 5, "q3": False, "q4": ["a"]}
    assert ids(engine.visible_questions(FLOW, answers)) == ["q1", "q3", "q6"]


def test_low_rating_path_to_summary() -> None:
    state = walk([1, "b", True, ["a", "c"], "Too slow", 3])
    assert state.current is None
    assert engine.progress(FLOW, state) == Progress(position=3, total=3, answered=6, done=True)
    assert engine.is_complete(FLOW, state)
    assert engine.final_answers(FLOW, state) == {
        "q1": 1, "q2": "b", "q3": True, "q4": ["a", "c"], "q5": "Too slow", "q6": 3,
    }


def test_high_rating_path_skips_the_follow_up() -> None:
    state = walk([5, False])
    assert state.current == "q6"
    state = engine.skip(FLOW, state)
    assert state == State({"q1": 5, "q3": False, "q6": None}, None)
    assert engine.final_answers(FLOW, state) == {"q1": 5, "q3": False, "q6": None}


def test_skip_only_optional_questions() -> None:
    state = engine.start(FLOW)
    with pytest.raises(InvalidAnswer) as info:
        engine.skip(FLOW, state)
    assert info.value.code == "required"
    assert info.value.params["question_id"] == "q1"
    assert code_of(engine.answer, FLOW, state, None) == "required"


def test_back_keeps_answers_and_stops_at_the_first_question() -> None:
    state = walk([2, "a"])
    assert state.current == "q3"
    state = engine.back(FLOW, state)
    assert state == State({"q1": 2, "q2": "a"}, "q2")
    state = engine.back(FLOW, state)
    assert state.current == "q1"
    assert engine.back(FLOW, state) == state


def test_back_then_answer_continues_with_the_next_unanswered_question() -> None:
    state = walk([2, "a", True])
    assert state.current == "q4"
    state = engine.back(FLOW, engine.back(FLOW, state))
    assert state.current == "q2"
    state = engine.answer(FLOW, state, "c")
    # q3 is already answered, so the next unanswered visible question is q4.
    assert state.current == "q4"


def test_back_from_summary_goes_to_the_last_visible_question() -> None:
    state = walk([5, False, 7])
    assert state.current is None
    assert engine.back(FLOW, state).current == "q6"


def test_back_skips_hidden_questions() -> None:
    state = walk([5, True])
    assert state.current == "q4"
    assert engine.back(FLOW, state).current == "q3"
    assert engine.back(FLOW, engine.back(FLOW, state)).current == "q1"


def test_changing_an_answer_from_the_summary_returns_to_the_summary() -> None:
    state = walk([5, False, 7])
    changed = engine.answer(FLOW, engine.goto(FLOW, state, "q6"), 8)
    assert changed == State({"q1": 5, "q3": False, "q6": 8}, None)


def test_change_that_reveals_a_question_asks_it_then_returns() -> None:
    state = walk([5, False, 7])
    state = engine.answer(FLOW, engine.goto(FLOW, state, "q1"), 1)
    assert state.current == "q2"
    state = engine.answer(FLOW, state, "a")
    assert state.current is None
    assert engine.is_complete(FLOW, state)


def test_change_that_hides_questions_keeps_their_answers_but_not_in_final() -> None:
    state = walk([1, "b", True, ["a"], "note", 3])
    state = engine.answer(FLOW, engine.goto(FLOW, state, "q1"), 5)
    assert state.current is None
    assert state.answers["q2"] == "b"  # kept in case the respondent changes back
    assert engine.final_answers(FLOW, state) == {
        "q1": 5, "q3": True, "q4": ["a"], "q5": "note", "q6": 3,
    }
    assert engine.progress(FLOW, state) == Progress(position=3, total=3, answered=5, done=True)
    # Changing back brings q2 back with its old answer, without asking it again.
    state = engine.answer(FLOW, engine.goto(FLOW, state, "q1"), 2)
    assert state.current is None
    assert engine.final_answers(FLOW, state)["q2"] == "b"


def test_goto_only_visible_questions() -> None:
    state = walk([5, False])
    assert code_of(engine.goto, FLOW, state, "q2") == "no_such_question"  # hidden
    assert code_of(engine.goto, FLOW, state, "zz") == "no_such_question"
    assert engine.goto(FLOW, state, "q1") == State(state.answers, "q1")


def test_answers_for_a_stale_question_are_refused() -> None:
    state = walk([5])
    assert code_of(lambda: engine.answer(FLOW, state, True, question_id="q1")) == "not_current"
    assert code_of(lambda: engine.answer(FLOW, state, True, question_id="zz")) == "no_such_question"
    assert engine.answer(FLOW, state, True, question_id="q3").current == "q4"
    summary = walk([5, False, 1])
    assert code_of(engine.answer, FLOW, summary, 3) == "not_current"
    assert code_of(engine.skip, FLOW, summary) == "not_current"


def test_invalid_answer_leaves_the_state_unchanged() -> None:
    state = walk([5])
    before = State(dict(state.answers), state.current)
    assert code_of(engine.answer, FLOW, state, "maybe") == "expects_button"
    assert state == before


def test_state_is_immutable_and_copies_its_input() -> None:
    answers: dict[str, Any] = {"q4": ["a"]}
    state = State(answers, "q1")
    answers["q4"].append("b")
    answers["q9"] = 1
    assert state.answers == {"q4": ["a"]}
    with pytest.raises(TypeError):
        state.answers["q1"] = 3  # type: ignore[index]


def test_progress_counts_visible_answered_questions_only() -> None:
    state = walk([1, "a"])
    assert engine.progress(FLOW, state) == Progress(position=2, total=3, answered=2)
    state = engine.answer(FLOW, engine.goto(FLOW, state, "q1"), 4)
    assert state.current == "q3"
    assert engine.progress(FLOW, state) == Progress(position=2, total=3, answered=1)


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        # A follow-up shows the number of the question that brought it; the total stays.
        ([1, "b", True, ["a"], "Too slow", 3], ["1/3", "1/3", "2/3", "2/3", "2/3", "3/3"]),
        ([5, False, 3], ["1/3", "2/3", "3/3"]),
        ([2, "a", False, None], ["1/3", "1/3", "2/3", "3/3"]),
    ],
)
def test_a_follow_up_never_changes_the_total(values: list[Any], shown: list[str]) -> None:
    state = engine.start(FLOW)
    seen = []
    for value in values:
        progress = engine.progress(FLOW, state)
        seen.append(f"{progress.position}/{progress.total}")
        state = engine.answer(FLOW, state, value)
    assert seen == shown
    assert state.current is None
    assert engine.progress(FLOW, state).position == 3


def test_final_answers_requires_completion() -> None:
    state = walk([5])
    assert not engine.is_complete(FLOW, state)
    with pytest.raises(InvalidAnswer) as info:
        engine.final_answers(FLOW, state)
    assert info.value.code == "required"
    assert info.value.params["question_id"] == "q3"


def test_complete_while_an_optional_question_is_still_open() -> None:
    state = walk([5, False])
    assert state.current == "q6"
    assert engine.is_complete(FLOW, state)
    assert engine.final_answers(FLOW, state) == {"q1": 5, "q3": False, "q6": None}


# --- toggle --------------------------------------------------------------------------------


def test_toggle_builds_a_draft_in_option_order() -> None:
    state = walk([5, True])
    assert state.current == "q4"
    draft = engine.toggle(FLOW, state, [], "c")
    draft = engine.toggle(FLOW, state, draft, "a")
    assert draft == ["a", "c"]
    assert engine.toggle(FLOW, state, draft, "c") == ["a"]
    assert engine.toggle(FLOW, state, ["zzz", "b", "b"], "a") == ["a", "b"]
    assert code_of(engine.toggle, FLOW, state, draft, "zzz") == "unknown_option"
    assert engine.answer(FLOW, state, draft).answers["q4"] == ["a", "c"]


def test_toggle_respects_max_choices_and_question_type() -> None:
    s = survey(q("m", "multi", max_choices=2), q("r", "rating"))
    state = engine.start(s)
    assert code_of(engine.toggle, s, state, ["a", "b"], "c") == "too_many_choices"
    assert engine.toggle(s, state, ["a", "b"], "b") == ["a"]
    on_rating = engine.answer(s, state, ["a"])
    assert code_of(engine.toggle, s, on_rating, [], "a") == "not_current"


# --- restore -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "current", "expected"),
    [
        ({}, None, State({}, "q1")),
        ({}, "q1", State({}, "q1")),
        ({"q1": 5}, "q3", State({"q1": 5}, "q3")),
        ({"q1": 5, "zz": 1}, "q3", State({"q1": 5}, "q3")),  # unknown id dropped
        ({"q1": 9}, None, State({}, "q1")),  # invalid value dropped, current recomputed
        ({"q1": None}, None, State({}, "q1")),  # a skipped required question is asked again
        ({"q1": None}, "q3", State({}, "q3")),  # a visible current is kept; q1 comes later
        ({"q1": 5}, "q2", State({"q1": 5}, "q3")),  # hidden current
        ({"q1": 5}, "nope", State({"q1": 5}, "q3")),  # unknown current
        ({"q1": 5}, None, State({"q1": 5}, "q3")),  # summary with questions left
        ({"q1": 5, "q3": False, "q6": None}, None,
         State({"q1": 5, "q3": False, "q6": None}, None)),
        ({"q1": 5, "q3": False, "q6": None}, "q1",
         State({"q1": 5, "q3": False, "q6": None}, "q1")),
        ({"q1": 5, "q2": "a", "q3": False}, "q6",
         State({"q1": 5, "q2": "a", "q3": False}, "q6")),  # hidden answers are kept
        ({"q4": ["c", "a"], "q3": True}, "q1", State({"q3": True, "q4": ["a", "c"]}, "q1")),
    ],
)
def test_restore_repairs(answers: dict[str, Any], current: str | None, expected: State) -> None:
    assert engine.restore(FLOW, answers, current) == expected


def test_restore_round_trips_states_from_a_walk() -> None:
    state = engine.start(FLOW)
    values: list[AnswerValue] = [1, "b", True, ["a"], "x", 2]
    for value in values:
        state = engine.answer(FLOW, state, value)
        assert engine.restore(FLOW, dict(state.answers), state.current) == state
        back = engine.back(FLOW, state)
        assert engine.restore(FLOW, dict(back.answers), back.current) == back


def test_invalid_answer_accepts_params_as_mapping_or_keywords() -> None:
    assert InvalidAnswer("forged", {}).params == {}
    err = InvalidAnswer("out_of_range", {"min": 1}, max=5)
    assert (err.code, err.params) == ("out_of_range", {"min": 1, "max": 5})
    assert "out_of_range" in str(err)
