"""The shipped templates: valid, within the design's limits, and answerable to the end."""

from __future__ import annotations

import re
from typing import Any

import pytest

from surveys.questionnaire import engine
from surveys.questionnaire.loader import load_template, survey_checksum, template_names
from surveys.questionnaire.schema import Survey

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def resident() -> Survey:
    return load_template("resident_satisfaction")


@pytest.fixture(scope="module")
def cadre() -> Survey:
    return load_template("cadre_self_assessment")


@pytest.mark.parametrize("name", template_names())
def test_every_template_is_bilingual_and_indicated(name: str) -> None:
    survey = load_template(name)
    texts = [survey.title, survey.intro]
    for question in survey.questions:
        assert question.indicator, f"{question.id} feeds no indicator"
        texts.append(question.text)
        texts.extend(o.label for o in question.options or [])
        if question.hint is not None:
            texts.append(question.hint)
    for text in texts:
        assert CJK.search(text.zh), text
        assert not CJK.search(text.en), text
    assert survey_checksum(survey) == survey_checksum(load_template(name))


@pytest.mark.parametrize("name", template_names())
def test_every_template_survives_the_storage_round_trip(name: str) -> None:
    survey = load_template(name)
    dumped = survey.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert Survey.model_validate(dumped) == survey


def test_resident_template_shape(resident: Survey) -> None:
    assert resident.audience == "residents"
    assert resident.anonymous is True
    assert len(resident.questions) <= 6
    types = {q.id: q.type for q in resident.questions}
    assert types == {
        "overall": "rating", "what_went_wrong": "single", "resolved": "yesno",
        "timeliness": "rating", "courtesy": "rating", "comment": "text",
    }
    overall = resident.questions[0]
    assert overall.indicator == "overall_satisfaction"
    texts = [q for q in resident.questions if q.type == "text"]
    assert len(texts) == 1
    comment = texts[0]
    assert (comment.required, comment.max_length, comment.indicator) == (False, 500, "comments")
    follow_up = resident.get_question("what_went_wrong")
    assert follow_up is not None and follow_up.show_if is not None
    assert (follow_up.show_if.question, follow_up.show_if.lte) == ("overall", 2)


def test_cadre_template_shape(cadre: Survey) -> None:
    assert cadre.audience == "cadres"
    assert cadre.anonymous is False
    assert 5 <= len(cadre.questions) <= 7
    types = {q.id: q.type for q in cadre.questions}
    assert types == {
        "task_progress": "rating", "tasks_completed": "number", "main_obstacle": "single",
        "need_training": "yesno", "training_topics": "multi", "comment": "text",
    }
    done = cadre.get_question("tasks_completed")
    assert done is not None and (done.min, done.max, done.integer) == (0, 100, True)
    topics = cadre.get_question("training_topics")
    assert topics is not None and topics.show_if is not None
    assert (topics.show_if.question, topics.show_if.equals) == ("need_training", True)
    comment = cadre.get_question("comment")
    assert comment is not None and comment.required is False


def answer_all(survey: Survey, values: dict[str, Any]) -> engine.State:
    state = engine.start(survey)
    for _ in range(len(survey.questions) + 1):
        question = engine.current_question(survey, state)
        if question is None:
            return state
        value = values[question.id]
        state = engine.skip(survey, state) if value is None else engine.answer(survey, state, value)
    raise AssertionError("the walk did not reach the summary")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"overall": 5, "resolved": True, "timeliness": 4, "courtesy": 5, "comment": None},
            {"overall": 5, "resolved": True, "timeliness": 4, "courtesy": 5, "comment": None},
        ),
        (
            {"overall": 1, "what_went_wrong": "runaround", "resolved": False, "timeliness": 1,
             "courtesy": 2, "comment": "跑了三趟还没办成 😞"},
            {"overall": 1, "what_went_wrong": "runaround", "resolved": False, "timeliness": 1,
             "courtesy": 2, "comment": "跑了三趟还没办成 😞"},
        ),
    ],
)
def test_resident_template_walks_to_completion(
    resident: Survey, values: dict[str, Any], expected: dict[str, Any]
) -> None:
    state = answer_all(resident, values)
    assert engine.is_complete(resident, state)
    assert engine.final_answers(resident, state) == expected
    progress = engine.progress(resident, state)
    # Five steps either way: the follow-up (what went wrong) is part of the first.
    assert progress.done and progress.position == progress.total == 5


def test_resident_template_by_typed_text(resident: Survey) -> None:
    state = engine.start(resident)
    for text in ["2", "3", "否", "２星", "4 stars", "The queue was long, staff were kind."]:
        question = engine.current_question(resident, state)
        assert question is not None
        state = engine.answer(resident, state, engine.parse_text(question, text))
    assert state.current is None
    assert engine.final_answers(resident, state) == {
        "overall": 2, "what_went_wrong": "unclear", "resolved": False, "timeliness": 2,
        "courtesy": 4, "comment": "The queue was long, staff were kind.",
    }


@pytest.mark.parametrize(
    ("values", "visible"),
    [
        ({"task_progress": 4, "tasks_completed": 12, "main_obstacle": "paperwork",
          "need_training": True, "training_topics": ["digital", "policy"], "comment": None}, 6),
        ({"task_progress": 3, "tasks_completed": 0, "main_obstacle": "none",
          "need_training": False, "comment": "Short-staffed in May."}, 5),
    ],
)
def test_cadre_template_walks_to_completion(
    cadre: Survey, values: dict[str, Any], visible: int
) -> None:
    state = answer_all(cadre, values)
    final = engine.final_answers(cadre, state)
    assert len(final) == visible
    if "training_topics" in final:
        assert final["training_topics"] == ["policy", "digital"]  # option order
