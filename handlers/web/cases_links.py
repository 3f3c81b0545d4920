"""The home page's link to the cases pages (handlers/web/cases.py), apart from them: the pages
import the home page's module, which imports this."""

from __future__ import annotations

from surveys.cases.views import STAFF_ROLES
from surveys.people.sign_in import Viewer


def links(viewer: Viewer) -> list[tuple[str, str]]:
    """(text key, path): the cases page for staff (cadres, admins, auditors)."""
    return [("web.home.cases", "/cases")] if viewer.roles & set(STAFF_ROLES) else []
