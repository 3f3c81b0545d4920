"""The name of a unit or a person as a reader of a language sees it.

Units and people have a name as entered (``name``) and may have a Chinese form (``name_zh``:
``civicpulse units import`` reads it from the unit file, ``civicpulse cadre`` takes it for a
profile). Whoever reads Chinese sees the Chinese form where there is one, and the name as
entered otherwise; everyone else sees the name as entered. Every place that shows a unit's or
a person's name to someone in their language goes through :func:`display_name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Named(Protocol):
    """A unit or a person (a model row, or a view of one that kept both names)."""

    @property
    def name(self) -> str: ...

    @property
    def name_zh(self) -> str | None: ...


@dataclass(frozen=True)
class Names:
    """Both names of a unit or person, for a view that is shown after its row is gone."""

    name: str
    name_zh: str | None = None

    @classmethod
    def of(cls, named: Named) -> Names:
        return cls(named.name, named.name_zh)


def display_name(named: Named, lang: str) -> str:
    """``named``'s name for a reader of ``lang`` ("en", "zh")."""
    if lang == "zh" and named.name_zh:
        return named.name_zh
    return named.name
