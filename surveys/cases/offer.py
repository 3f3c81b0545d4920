"""The end-of-poll offer: after a low rating on a question that can open a case, the thanks
offers to report the problem.

The offer says only where (the poll's unit) and what about (the question's category): never
which response or campaign it came from, so the report it starts, in a later transaction,
points at no poll answer. Pure: no database, no Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from surveys.questionnaire.schema import AnswerValue, Survey


@dataclass(frozen=True)
class CaseOffer:
    """Offer to report a problem about ``unit_id``."""

    unit_id: int
    # The question's ``case_category``; None: suggested from what the resident writes.
    category: str | None
    # The resident left a comment: offer to turn it into the report as well.
    comment: bool


def poll_offer(survey: Survey, answers: Mapping[str, AnswerValue], unit_id: int,
               at_or_below: int | None) -> CaseOffer | None:
    """The offer a submitted poll earns: a question marked ``opens_case`` rated at or below
    ``at_or_below`` (the lowest such rating decides the category, the first on a tie); None
    when there is none, or offers are off (``at_or_below`` None)."""
    if at_or_below is None:
        return None
    low: list[tuple[float, int, str | None]] = []
    for position, question in enumerate(survey.questions):
        value = answers.get(question.id)
        if (question.opens_case and isinstance(value, int | float)
                and not isinstance(value, bool) and value <= at_or_below):
            low.append((float(value), position, question.case_category))
    if not low:
        return None
    commented = any(question.type == "text" and isinstance(answers.get(question.id), str)
                    and str(answers.get(question.id)).strip() for question in survey.questions)
    return CaseOffer(unit_id, min(low)[2], commented)
