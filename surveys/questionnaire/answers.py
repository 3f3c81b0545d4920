"""Answers as the engine knows them (typed values) and as the database stores them (columns)."""

from __future__ import annotations

from storage.models import Answer
from storage.responses import AnswerRow
from surveys.questionnaire.schema import AnswerValue, Question


def to_row(question: Question, value: AnswerValue) -> AnswerRow:
    number: float | None = None
    text: str | None = None
    choices: list[str] | None = None
    if value is None:
        pass
    elif question.type == "multi":
        assert isinstance(value, list)
        choices = list(value)
    elif question.type in ("single", "text"):
        text = str(value)
    elif question.type == "yesno":
        number = 1.0 if value else 0.0
    else:
        assert isinstance(value, int | float) and not isinstance(value, bool)
        number = float(value)
    return AnswerRow(
        question_id=question.id,
        question_type=question.type,
        indicator=question.indicator,
        skipped=value is None,
        value_number=number,
        value_text=text,
        value_choices=choices,
    )


def from_row(question: Question, answer: Answer) -> AnswerValue:
    if answer.skipped:
        return None
    if question.type == "multi":
        return list(answer.value_choices or [])
    if question.type in ("single", "text"):
        return answer.value_text
    if question.type == "yesno":
        return bool(answer.value_number)
    if answer.value_number is None:
        return None
    if question.type == "number" and not question.integer:
        return float(answer.value_number)
    return int(answer.value_number)
