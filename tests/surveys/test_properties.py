"""Property tests: any sequence of operations keeps the engine's state consistent.

Runs random mixes of valid answers, invalid answers, typed text, skips, backs, gotos and
multi-choice toggles on the shipped templates and on generated surveys (random types, random
``show_if`` chains), checking the invariants after every step.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.questionnaire import engine
from surveys.questionnaire.engine import InvalidAnswer, State
from surveys.questionnaire.loader import load_template, template_names
from surveys.questionnaire.schema import Question, Survey
from surveys.text import _BLANK_FILLERS as BLANK_FILLERS
from tests.surveys.factories import options, q, survey

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TEMPLATES = {name: load_template(name) for name in template_names()}
TYPES = ["rating", "nps", "single", "multi", "yesno", "text", "number"]


# --- strategies ----------------------------------------------------------------------------


def valid_values(question: Question) -> st.SearchStrategy[Any]:
    """Values that validate for ``question`` (not None)."""
    kind = question.type
    if kind == "rating":
        return st.integers(1, 5)
    if kind == "nps":
        return st.integers(0, 10)
    if kind == "number":
        assert question.min is not None and question.max is not None
        if question.integer:
            return st.integers(int(question.min), int(question.max))
        return st.floats(float(question.min), float(question.max), allow_nan=False)
    if kind == "single":
        return st.sampled_from(question.option_values())
    if kind == "multi":
        low, high = question.choice_limits()
        return st.lists(st.sampled_from(question.option_values()), min_size=low, max_size=high,
                        unique=True)
    if kind == "yesno":
        return st.booleans()
    # Letters, digits and symbols that show: not the fillers that are letters by category but
    # render blank (a text of U+115F alone is refused as invisible, rightly).
    letters = st.characters(categories=["L", "N", "So"], exclude_characters=BLANK_FILLERS)
    return st.text(letters, min_size=1, max_size=question.text_limit())


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-20, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.text(max_size=4), max_size=5),
    st.sampled_from(["a", "b", "o0", "o1", "x" * 600, "  ", "\x00"]),
)

TYPED = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1", "２", "4 stars", "五", "yes", "否", "1,2", "A、B", "3.5", "-1", "10",
                     "★★★", "o1", "O0", "选项o0", "", "  ", "👍", "1,000"]),
)


def condition_for(target: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A show_if operator that fits the target question mapping."""
    kind = target["type"]
    answered = st.builds(lambda b: {"answered": b}, st.booleans())
    if kind in ("rating", "nps", "number"):
        scales = {"rating": (1, 5), "nps": (0, 10)}
        low, high = scales[kind] if kind in scales else (int(target["min"]), int(target["max"]))
        value = st.integers(low, high)
        return st.one_of(
            answered,
            st.builds(lambda v: {"equals": v}, value),
            st.builds(lambda v: {"not_equals": v}, value),
            st.builds(lambda v: {"in": v}, st.lists(value, min_size=1, max_size=3)),
            st.builds(lambda v: {"gte": v}, value),
            st.builds(lambda v: {"lte": v}, value),
        )
    if kind == "single":
        value = st.sampled_from([o["value"] for o in target["options"]])
        return st.one_of(
            answered,
            st.builds(lambda v: {"equals": v}, value),
            st.builds(lambda v: {"not_equals": v}, value),
            st.builds(lambda v: {"in": v}, st.lists(value, min_size=1, max_size=2)),
        )
    if kind == "multi":
        value = st.sampled_from([o["value"] for o in target["options"]])
        return st.one_of(answered, st.builds(lambda v: {"contains": v}, value))
    if kind == "yesno":
        return st.one_of(answered, st.builds(lambda v: {"equals": v}, st.booleans()))
    return answered


@st.composite
def generated_surveys(draw: st.DrawFn) -> Survey:
    """Random valid surveys of 1–8 questions with random show_if chains."""
    questions: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(TYPES))
        extra: dict[str, Any] = {"required": draw(st.booleans())}
        if kind in ("single", "multi"):
            count = draw(st.integers(2, 5))
            extra["options"] = options(*[f"o{i}" for i in range(count)])
            if kind == "multi":
                high = draw(st.integers(1, count))
                extra["max_choices"] = high
                extra["min_choices"] = draw(st.integers(1, high))
        elif kind == "number":
            low = draw(st.integers(-50, 50))
            extra["min"], extra["max"] = low, low + draw(st.integers(1, 100))
            extra["integer"] = draw(st.booleans())
        elif kind == "text":
            extra["max_length"] = draw(st.integers(1, 40))
        conditional = draw(st.booleans())
        if questions and conditional:
            target: dict[str, Any] = draw(st.sampled_from(questions))
            extra["show_if"] = {"question": target["id"], **draw(condition_for(target))}
        questions.append(q(f"q{index}", kind, **extra))
    return survey(*questions)


# --- the invariants ------------------------------------------------------------------------


def check_consistent(s: Survey, state: State) -> None:
    visible = [x.id for x in engine.visible_questions(s, state.answers)]
    assert state.current is None or state.current in visible
    progress = engine.progress(s, state)
    assert 1 <= progress.position <= progress.total == engine.progress(s, engine.start(s)).total
    assert progress.total == max(1, sum(1 for x in s.questions if x.show_if is None))
    assert 0 <= progress.answered <= len(visible)
    assert progress.done == (state.current is None)
    for qid, value in state.answers.items():
        question = s.get_question(qid)
        assert question is not None
        if value is None:
            assert not question.required
        else:
            assert engine.validate(question, value) == value
    assert engine.restore(s, dict(state.answers), state.current) == state
    if state.current is None:
        assert engine.is_complete(s, state)
    if engine.is_complete(s, state):
        final = engine.final_answers(s, state)
        assert list(final) == visible
        for qid, value in final.items():
            question = s.get_question(qid)
            assert question is not None
            if value is None:
                assert not question.required
            else:
                assert engine.validate(question, value) == value
    else:
        with pytest.raises(InvalidAnswer):
            engine.final_answers(s, state)


def snapshot(state: State) -> State:
    return State(dict(state.answers), state.current)


def step(s: Survey, state: State, data: st.DataObject) -> State:
    """Apply one random operation; invalid ones must raise and leave the state unchanged."""
    before = snapshot(state)
    question = engine.current_question(s, state)
    op = data.draw(st.sampled_from(
        ["valid", "valid", "valid", "junk", "text", "skip", "back", "goto", "toggle", "stale"]
    ))
    try:
        if op == "valid" and question is not None:
            new = engine.answer(s, state, data.draw(valid_values(question)))
            assert new.answers[question.id] is not None
        elif op == "junk":
            new = engine.answer(s, state, data.draw(JUNK))
        elif op == "text" and question is not None:
            new = engine.answer(s, state, engine.parse_text(question, data.draw(TYPED)))
        elif op == "skip":
            new = engine.skip(s, state)
            assert question is not None and not question.required
        elif op == "back":
            new = engine.back(s, state)
        elif op == "goto":
            new = engine.goto(s, state, data.draw(st.sampled_from([*s.question_ids(), "nope"])))
        elif op == "toggle" and question is not None:
            option = data.draw(st.sampled_from([*question.option_values(), "zz"]))
            draft = data.draw(st.lists(st.sampled_from(question.option_values() or ["zz"])))
            chosen = engine.toggle(s, state, draft, option)
            assert chosen == [v for v in question.option_values() if v in chosen]
            new = state
        elif op == "stale":
            target = data.draw(st.sampled_from([*s.question_ids(), "nope"]))
            new = engine.answer(s, state, data.draw(JUNK), question_id=target)
            assert target == before.current
        else:
            new = state
    except InvalidAnswer as exc:
        assert exc.code in {
            "required", "out_of_range", "too_long", "empty", "invisible", "not_a_number",
            "not_an_integer",
            "unknown_option", "too_few_choices", "too_many_choices", "expects_button",
            "not_current", "no_such_question",
        }
        assert state == before
        return state
    assert state == before  # the old state is never modified
    return new


def finish(s: Survey, state: State, data: st.DataObject) -> State:
    """Answer every remaining question validly; the summary must be reached."""
    for _ in range(len(s.questions) + 1):
        question = engine.current_question(s, state)
        if question is None:
            break
        state = engine.answer(s, state, data.draw(valid_values(question)))
        check_consistent(s, state)
    assert state.current is None
    assert engine.is_complete(s, state)
    return state


def run(s: Survey, data: st.DataObject) -> None:
    state = engine.start(s)
    check_consistent(s, state)
    for _ in range(data.draw(st.integers(0, 40))):
        state = step(s, state, data)
        check_consistent(s, state)
    finish(s, state, data)


# --- the properties ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@SETTINGS
@given(data=st.data())
def test_random_operations_on_templates(name: str, data: st.DataObject) -> None:
    run(TEMPLATES[name], data)


@SETTINGS
@given(s=generated_surveys(), data=st.data())
def test_random_operations_on_generated_surveys(s: Survey, data: st.DataObject) -> None:
    run(s, data)


@SETTINGS
@given(s=generated_surveys())
def test_generated_surveys_survive_the_storage_round_trip(s: Survey) -> None:
    dumped = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert Survey.model_validate(dumped) == s


@SETTINGS
@given(s=generated_surveys(), data=st.data())
def test_restore_repairs_any_stored_rows(s: Survey, data: st.DataObject) -> None:
    ids = [*s.question_ids(), "gone"]
    answers = data.draw(st.dictionaries(st.sampled_from(ids), JUNK, max_size=6))
    current = data.draw(st.one_of(st.none(), st.sampled_from(ids)))
    state = engine.restore(s, answers, current)
    check_consistent(s, state)
    assert set(state.answers) <= set(answers)


@SETTINGS
@given(text=st.text(max_size=80), kind=st.sampled_from(TYPES))
def test_parse_text_returns_a_valid_value_or_raises(text: str, kind: str) -> None:
    question = Question.model_validate(q("q", kind, required=False))
    try:
        value = engine.parse_text(question, text)
    except InvalidAnswer:
        return
    assert engine.validate(question, value) == value


def forward_positions(s: Survey, data: st.DataObject) -> list[tuple[int, int]]:
    """(position, total) of every question a respondent sees going forward from the start,
    answering or skipping, then of the summary."""
    state = engine.start(s)
    seen = []
    for _ in range(len(s.questions) + 1):
        question = engine.current_question(s, state)
        progress = engine.progress(s, state)
        seen.append((progress.position, progress.total))
        if question is None:
            break
        if not question.required and data.draw(st.booleans()):
            state = engine.skip(s, state)
        else:
            state = engine.answer(s, state, data.draw(valid_values(question)))
    assert state.current is None
    return seen


def check_forward(s: Survey, seen: list[tuple[int, int]]) -> None:
    totals = {total for _, total in seen}
    assert len(totals) == 1, f"the total changed mid-poll: {seen}"
    [total] = totals
    positions = [position for position, _ in seen]
    assert positions[0] == 1 and positions[-1] == total
    assert all(b - a in (0, 1) for a, b in pairwise(positions)), (
        f"the position went back or jumped: {seen}")
    assert set(positions) == set(range(1, total + 1)), "every step is shown"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@SETTINGS
@given(data=st.data())
def test_progress_on_templates_never_raises_its_total_or_jumps(
    name: str, data: st.DataObject
) -> None:
    s = TEMPLATES[name]
    check_forward(s, forward_positions(s, data))


@SETTINGS
@given(s=generated_surveys(), data=st.data())
def test_progress_on_generated_surveys_never_raises_its_total_or_jumps(
    s: Survey, data: st.DataObject
) -> None:
    check_forward(s, forward_positions(s, data))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_counts_its_follow_ups_in_the_step_before(name: str) -> None:
    s = TEMPLATES[name]
    steps = engine.step_numbers(s)
    follow_ups = [x for x in s.questions if x.show_if is not None]
    assert follow_ups, "each shipped template has a follow-up to test"
    for question in follow_ups:
        before = s.questions[s.questions.index(question) - 1]
        assert steps[question.id] == steps[before.id]
