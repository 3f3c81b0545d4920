"""Exports of collected data (CSV or JSON lines), one row per completed response."""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, TextIO

from storage.models import Answer
from surveys.answers import from_row
from surveys.schema import Question, Survey

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class ExportError(Exception):
    """The export cannot be made (e.g. an unknown campaign)."""


def _cell(question: Question, answer: Answer | None) -> object:
    value = None if answer is None else from_row(question, answer)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(value)
    return value


async def export_responses(uow: UnitOfWork, campaign_code: str, fmt: str, out: TextIO) -> int:
    """Write the campaign's completed responses to ``out``; return how many.

    Respondents appear by row number only: the pseudonymous key is not exported, so rows
    from different exports cannot be joined on it.
    """
    campaign = await uow.campaigns.by_code(campaign_code)
    if campaign is None:
        raise ExportError(f"unknown campaign {campaign_code!r}")
    version = await uow.surveys.get(campaign.survey_id)
    assert version is not None  # a foreign key guarantees it
    survey = Survey.model_validate(version.definition)
    question_ids = [q.id for q in survey.questions]
    header = ["row", "campaign", "survey", "survey_version", "unit", "language", "completed_at",
              *question_ids]
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(header)
    count = 0
    for count, response in enumerate(await uow.responses.completed_with_answers(campaign.id), 1):
        by_question = {a.question_id: a for a in response.answers}
        done = response.completed_at
        completed = done.isoformat(timespec="minutes") if done else None
        values = [count, campaign.code, survey.id, version.version, campaign.unit.code,
                  response.language, completed,
                  *(_cell(q, by_question.get(q.id)) for q in survey.questions)]
        if writer is not None:
            writer.writerow(["" if v is None else v for v in values])
        else:
            out.write(json.dumps(dict(zip(header, values, strict=True)), ensure_ascii=False) + "\n")
    return count
