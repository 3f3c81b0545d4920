"""Parsed survey definitions, cached by stored version id.

A stored version never changes, so it is read and validated once per process instead of on
every tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveys.questionnaire.schema import Survey

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class UnknownSurveyVersion(LookupError):
    pass


@dataclass(frozen=True)
class StoredSurvey:
    """A stored version: the survey's id (its slug), its version number and the definition."""

    slug: str
    version: int
    survey: Survey


class SurveyCatalog:
    def __init__(self) -> None:
        self._cache: dict[int, StoredSurvey] = {}

    async def get(self, uow: UnitOfWork, version_id: int) -> Survey:
        return (await self.stored(uow, version_id)).survey

    async def stored(self, uow: UnitOfWork, version_id: int) -> StoredSurvey:
        found = self._cache.get(version_id)
        if found is None:
            version = await uow.surveys.get(version_id)
            if version is None:
                raise UnknownSurveyVersion(version_id)
            found = StoredSurvey(version.slug, version.version,
                                 Survey.model_validate(version.definition))
            self._cache[version_id] = found
        return found
