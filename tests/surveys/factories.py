"""Small builders for survey definitions used across the survey tests."""

from __future__ import annotations

from typing import Any

from surveys.questionnaire.schema import Question, Survey


def lt(en: str, zh: str | None = None) -> dict[str, str]:
    """A LocalText mapping."""
    return {"en": en, "zh": zh or f"{en}（中文）"}


def options(*values: str) -> list[dict[str, Any]]:
    """Options whose labels are the capitalised values (English) and the value in brackets."""
    return [{"value": v, "label": lt(v.capitalize(), f"选项{v}")} for v in values]


def q(qid: str, qtype: str, **extra: Any) -> dict[str, Any]:
    """A question mapping with sensible defaults per type."""
    data: dict[str, Any] = {"id": qid, "type": qtype, "text": lt(f"Question {qid}?")}
    if qtype in ("single", "multi") and "options" not in extra:
        data["options"] = options("a", "b", "c")
    if qtype == "number" and "min" not in extra and "max" not in extra:
        data["min"], data["max"] = 0, 100
    data.update(extra)
    return data


def survey_data(
    *questions: dict[str, Any], audience: str = "cadres", **extra: Any
) -> dict[str, Any]:
    """A survey mapping around the given question mappings."""
    data: dict[str, Any] = {
        "id": "test-survey",
        "title": lt("Test"),
        "intro": lt("What this poll is for."),
        "audience": audience,
        "questions": list(questions),
    }
    data.update(extra)
    return data


def survey(*questions: dict[str, Any], audience: str = "cadres", **extra: Any) -> Survey:
    """A validated survey around the given question mappings."""
    return Survey.model_validate(survey_data(*questions, audience=audience, **extra))


def question(qtype: str, **extra: Any) -> Question:
    """A validated question of this type with id ``q``."""
    return Question.model_validate(q("q", qtype, **extra))
