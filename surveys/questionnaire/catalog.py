"""Parsed survey definitions, cached by stored version id.

A stored version never changes, so it is read and validated once per process instead of on
every tap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from surveys.questionnaire.schema import Survey

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class UnknownSurveyVersion(LookupError):
    pass


class SurveyCatalog:
    def __init__(self) -> None:
        self._cache: dict[int, Survey] = {}

    async def get(self, uow: UnitOfWork, version_id: int) -> Survey:
        survey = self._cache.get(version_id)
        if survey is None:
            version = await uow.surveys.get(version_id)
            if version is None:
                raise UnknownSurveyVersion(version_id)
            survey = Survey.model_validate(version.definition)
            self._cache[version_id] = survey
        return survey
