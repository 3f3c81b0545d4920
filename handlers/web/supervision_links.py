"""The home page's links to the auditors' pages (handlers/web/supervision.py), apart from
them: the pages import the home page's module, which imports these."""

from __future__ import annotations

from storage.models import Role
from surveys.people.sign_in import Viewer


def links(viewer: Viewer) -> list[tuple[str, str]]:
    """(text key, path) of the auditors' pages the person may open."""
    found: list[tuple[str, str]] = []
    if Role.AUDITOR in viewer.roles:
        found += [("web.home.flags", "/audit/flags"), ("web.home.approvals", "/audit/approvals"),
                  ("web.home.audit_log", "/audit/log")]
    if Role.ADMIN in viewer.roles:
        found.append(("web.home.drafts", "/audit/drafts"))
    if viewer.roles & {Role.ADMIN, Role.AUDITOR}:
        found.append(("web.home.appeals", "/audit/appeals"))
    return found
