"""Schema rules: field constraints, per-type rules, show_if references and evaluation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from surveys.questionnaire.schema import Condition, LocalText, Option, Question, Survey
from tests.surveys.factories import lt, options, q, question, survey, survey_data


def _messages(exc: ValidationError) -> str:
    return str(exc)


# --- LocalText and Option ------------------------------------------------------------------


def test_local_text_strips_and_falls_back_to_english() -> None:
    text = LocalText(en="  Hello\n", zh=" 你好 ")
    assert (text.en, text.zh) == ("Hello", "你好")
    assert text.get("zh") == "你好"
    assert text.get("zh-hans") == "你好"
    assert text.get("zh_CN") == "你好"
    assert text.get("en") == "Hello"
    assert text.get("fr") == "Hello"
    assert text.get("") == "Hello"
    assert text.get(None) == "Hello"


@pytest.mark.parametrize("data", [{"en": "x"}, {"en": "x", "zh": "   "}, {"en": "", "zh": "y"},
                                  {"en": "x", "zh": "y", "fr": "z"}])
def test_local_text_requires_both_languages_non_empty(data: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        LocalText.model_validate(data)


@pytest.mark.parametrize("value", ["a", "0", "very_good", "not-solved", "x" * 32])
def test_option_values_accepted(value: str) -> None:
    assert Option.model_validate({"value": value, "label": lt("L")}).value == value


@pytest.mark.parametrize("value", ["", "A", "_a", "-a", "a b", "x" * 33, "é"])
def test_option_values_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        Option.model_validate({"value": value, "label": lt("L")})


def test_option_label_must_fit_a_button() -> None:
    with pytest.raises(ValidationError, match="button caption"):
        Option.model_validate({"value": "a", "label": lt("x" * 81)})


def test_models_are_frozen() -> None:
    text = LocalText(en="a", zh="b")
    with pytest.raises(ValidationError):
        text.en = "c"  # type: ignore[misc]


# --- Question per type ---------------------------------------------------------------------


@pytest.mark.parametrize("qtype", ["rating", "nps", "single", "multi", "yesno", "text", "number"])
def test_every_type_has_a_valid_minimal_form(qtype: str) -> None:
    assert question(qtype).type == qtype


@pytest.mark.parametrize("qid", ["", "Q1", "1q", "q-1", "q" * 33, "题"])
def test_question_id_pattern(qid: str) -> None:
    with pytest.raises(ValidationError):
        Question.model_validate(q(qid, "rating"))


def test_text_max_length_defaults_to_500() -> None:
    assert question("text").max_length == 500
    assert question("text", max_length=20).max_length == 20
    assert question("text").text_limit() == 500


@pytest.mark.parametrize("length", [0, 4001])
def test_text_max_length_bounds(length: int) -> None:
    with pytest.raises(ValidationError):
        question("text", max_length=length)


@pytest.mark.parametrize(
    ("qtype", "extra", "fragment"),
    [
        ("single", {"options": None}, "options: required"),
        ("multi", {"options": None}, "options: required"),
        ("single", {"options": options("a")}, "at least 2"),
        ("single", {"options": options(*"abcdefghijk")}, "at most 10"),
        ("single", {"options": options("a", "a")}, "used more than once"),
        ("rating", {"options": options("a", "b")}, "options: only allowed"),
        ("yesno", {"min_choices": 1}, "min_choices: only allowed"),
        ("single", {"max_choices": 1}, "max_choices: only allowed"),
        ("multi", {"max_choices": 4}, "more than the 3 options"),
        ("multi", {"min_choices": 3, "max_choices": 2}, "more than max_choices"),
        ("rating", {"max_length": 10}, "max_length: only allowed"),
        ("text", {"min": 1}, "min: only allowed"),
        ("nps", {"integer": False}, "integer: only allowed"),
        ("number", {"min": None, "max": None}, "both required"),
        ("number", {"min": 5, "max": 5}, "must be less than"),
        ("number", {"min": 0, "max": 1.5}, "whole numbers"),
    ],
)
def test_question_type_rules(qtype: str, extra: dict[str, Any], fragment: str) -> None:
    data = q("q", qtype)
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValidationError) as info:
        Question.model_validate(data)
    assert fragment in _messages(info.value)


def test_duplicate_labels_are_rejected_since_typed_answers_match_labels() -> None:
    opts = [{"value": "a", "label": lt("Same", "甲")}, {"value": "b", "label": lt("same", "乙")}]
    with pytest.raises(ValidationError, match="label 'same'"):
        question("single", options=opts)


def test_number_with_fractional_bounds_when_not_integer() -> None:
    number = question("number", min=0.5, max=2.5, integer=False)
    assert number.value_range() == (0.5, 2.5)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_number_bounds_must_be_finite(bad: float) -> None:
    with pytest.raises(ValidationError):
        question("number", min=0, max=bad)


def test_multi_choice_limits_default_to_one_and_all() -> None:
    assert question("multi").choice_limits() == (1, 3)
    assert question("multi", min_choices=2, max_choices=2).choice_limits() == (2, 2)


# --- Condition -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{"question": "a"}, {"question": "a", "equals": 1, "gte": 1},
     {"question": "a", "answered": False, "contains": "x"}, {"question": "a", "in": []}],
)
def test_condition_needs_exactly_one_operator(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(data)


def test_condition_in_alias_and_python_name() -> None:
    by_alias = Condition.model_validate({"question": "a", "in": [1, 2]})
    by_name = Condition(question="a", in_=[1, 2])
    assert by_alias == by_name
    assert by_alias.operator == "in"
    assert by_alias.model_dump(by_alias=True, exclude_none=True) == {"question": "a", "in": [1, 2]}


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        ({"equals": 3}, {}, False),
        ({"equals": 3}, {"a": None}, False),
        ({"equals": 3}, {"a": 3}, True),
        ({"equals": 3}, {"a": 3.0}, True),
        ({"equals": 1}, {"a": True}, False),  # True == 1 in Python, not here
        ({"equals": True}, {"a": 1}, False),
        ({"equals": True}, {"a": True}, True),
        ({"equals": False}, {"a": False}, True),
        ({"equals": "x"}, {"a": "x"}, True),
        ({"not_equals": "x"}, {"a": "y"}, True),
        ({"not_equals": "x"}, {"a": "x"}, False),
        ({"not_equals": "x"}, {}, False),
        ({"not_equals": "x"}, {"a": None}, False),
        ({"in": [1, 2]}, {"a": 2}, True),
        ({"in": [1, 2]}, {"a": 3}, False),
        ({"in": [1, 2]}, {}, False),
        ({"gte": 4}, {"a": 4}, True),
        ({"gte": 4}, {"a": 3}, False),
        ({"gte": 4}, {"a": None}, False),
        ({"lte": 2}, {"a": 2}, True),
        ({"lte": 2}, {"a": 5}, False),
        ({"lte": 2}, {"a": True}, False),
        ({"answered": True}, {"a": 0}, True),
        ({"answered": True}, {"a": None}, False),
        ({"answered": True}, {}, False),
        ({"answered": False}, {}, True),
        ({"answered": False}, {"a": None}, True),
        ({"answered": False}, {"a": "x"}, False),
        ({"contains": "x"}, {"a": ["x", "y"]}, True),
        ({"contains": "x"}, {"a": ["y"]}, False),
        ({"contains": "x"}, {"a": None}, False),
    ],
)
def test_condition_evaluation(
    condition: dict[str, Any], answers: dict[str, Any], expected: bool
) -> None:
    assert Condition.model_validate({"question": "a", **condition}).evaluate(answers) is expected


# --- Survey --------------------------------------------------------------------------------


def test_survey_defaults() -> None:
    s = survey(q("a", "rating"))
    assert s.anonymous is True
    assert s.get_question("a") is s.questions[0]
    assert s.get_question("zz") is None
    assert s.question_ids() == ["a"]


@pytest.mark.parametrize("sid", ["", "Survey", "1x", "x" * 65, "a b"])
def test_survey_id_pattern(sid: str) -> None:
    with pytest.raises(ValidationError):
        survey(q("a", "rating"), id=sid)


def test_duplicate_question_ids() -> None:
    with pytest.raises(ValidationError, match="question a: question id 'a' is used more than once"):
        survey(q("a", "rating"), q("a", "yesno"))


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ({"question": "later", "answered": True}, "refers to 'later', which is not an earlier"),
        ({"question": "b", "answered": True}, "refers to 'b', which is not an earlier"),
        ({"question": "nope", "equals": 1}, "refers to 'nope'"),
    ],
)
def test_show_if_must_refer_to_an_earlier_question(
    condition: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        survey(q("a", "rating"), q("b", "yesno", show_if=condition), q("later", "rating"))


@pytest.mark.parametrize(
    ("target", "operator", "fragment"),
    [
        (q("a", "rating"), {"contains": "x"}, "operator 'contains' does not fit"),
        (q("a", "rating"), {"equals": 6}, "outside the range 1–5"),
        (q("a", "rating"), {"gte": 0}, "outside the range"),
        (q("a", "rating"), {"equals": "4"}, "must be a number"),
        (q("a", "nps"), {"in": [9, 11]}, "outside the range 0–10"),
        (q("a", "number", min=0, max=10), {"lte": 11}, "outside the range 0–10"),
        (q("a", "single"), {"equals": "zzz"}, "not an option"),
        (q("a", "single"), {"in": ["a", "zzz"]}, "not an option"),
        (q("a", "single"), {"gte": 1}, "operator 'gte' does not fit"),
        (q("a", "multi"), {"equals": "a"}, "operator 'equals' does not fit"),
        (q("a", "multi"), {"contains": "zzz"}, "not an option"),
        (q("a", "yesno"), {"equals": "yes"}, "must be true or false"),
        (q("a", "yesno"), {"equals": 1}, "must be true or false"),
        (q("a", "text"), {"equals": "x"}, "operator 'equals' does not fit"),
    ],
)
def test_show_if_operator_must_fit_the_question_type(
    target: dict[str, Any], operator: dict[str, Any], fragment: str
) -> None:
    follow = q("b", "rating", show_if={"question": "a", **operator})
    with pytest.raises(ValidationError) as info:
        survey(target, follow)
    assert fragment in _messages(info.value)
    assert "question b:" in _messages(info.value)


@pytest.mark.parametrize(
    ("target", "operator"),
    [
        (q("a", "rating"), {"lte": 2}),
        (q("a", "rating"), {"in": [1, 2]}),
        (q("a", "nps"), {"gte": 9}),
        (q("a", "number"), {"equals": 50}),
        (q("a", "single"), {"not_equals": "a"}),
        (q("a", "multi"), {"contains": "b"}),
        (q("a", "yesno"), {"equals": False}),
        (q("a", "text"), {"answered": True}),
        (q("a", "multi"), {"answered": False}),
    ],
)
def test_show_if_fitting_operators(target: dict[str, Any], operator: dict[str, Any]) -> None:
    s = survey(target, q("b", "rating", show_if={"question": "a", **operator}))
    assert s.questions[1].show_if is not None


def test_resident_survey_has_at_most_six_questions() -> None:
    six = [q(f"q{i}", "rating") for i in range(6)]
    assert len(survey(*six, audience="residents").questions) == 6
    with pytest.raises(ValidationError, match="at most 6 questions"):
        survey(*six, q("q6", "rating"), audience="residents")
    assert len(survey(*six, q("q6", "rating"), audience="cadres").questions) == 7


@pytest.mark.parametrize("count", [0, 21])
def test_question_count_bounds(count: int) -> None:
    with pytest.raises(ValidationError):
        survey(*[q(f"q{i}", "rating") for i in range(count)])


@pytest.mark.parametrize("exclude_none", [True, False])
def test_a_dumped_survey_validates_back_to_itself(exclude_none: bool) -> None:
    # The storage layer keeps model_dump(mode="json", by_alias=True, ...) and re-validates it.
    s = survey(
        q("a", "single"),
        q("b", "multi", show_if={"question": "a", "in": ["a", "b"]}, max_choices=2),
        q("c", "number", min=0, max=2.5, integer=False, required=False),
        q("d", "text", hint=lt("Optional")),
        q("e", "yesno", show_if={"question": "b", "contains": "c"}, indicator="help"),
    )
    dumped = s.model_dump(mode="json", by_alias=True, exclude_none=exclude_none)
    assert Survey.model_validate(dumped) == s


def test_unknown_keys_are_rejected_everywhere() -> None:
    with pytest.raises(ValidationError):
        Survey.model_validate(survey_data(q("a", "rating"), colour="red"))
    with pytest.raises(ValidationError):
        survey(q("a", "rating", colour="red"))
    with pytest.raises(ValidationError):
        survey(q("a", "rating"), q("b", "rating", show_if={"question": "a", "eq": 1}))


def test_texts_are_capped_so_every_screen_fits_one_message() -> None:
    from surveys.questionnaire.loader import SurveyError, parse_survey

    long = "x" * 501
    source = (
        "id: s\ntitle: {en: T, zh: T}\nintro: {en: I, zh: I}\naudience: residents\n"
        f"questions:\n  - id: q1\n    type: rating\n    text: {{en: {long}, zh: ok}}\n"
    )
    with pytest.raises(SurveyError) as info:
        parse_survey(source, "long.yaml")
    assert any("at most 500 characters" in str(issue) for issue in info.value.issues)
