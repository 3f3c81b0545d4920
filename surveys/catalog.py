"""Parsed survey definitions, cached by stored version id (a stored version never changes)."""

from __future__ import annotations

from typing import Any

from surveys.schema import Survey


class SurveyCatalog:
    def __init__(self) -> None:
        self._cache: dict[int, Survey] = {}

    def get(self, version_id: int, definition: dict[str, Any]) -> Survey:
        survey = self._cache.get(version_id)
        if survey is None:
            survey = Survey.model_validate(definition)
            self._cache[version_id] = survey
        return survey
