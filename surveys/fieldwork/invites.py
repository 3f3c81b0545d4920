"""Admin chat: cadres' profiles and invite links (/invite, /cadres), scoped to the admin's units.

The profiles and links themselves (checks, tokens, redeeming a link) are
:mod:`surveys.fieldwork.cadres`, which the command line uses too; here is who may ask for
them in chat. Refusals are :class:`~surveys.people.caller.Refused` with an admin text key.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.ids import is_digits
from surveys.appraisal.published_rows import PublishedRows
from surveys.fieldwork import cadres
from surveys.kept import UntilAudit
from surveys.paging import Paging
from surveys.people.access import ADMIN_ROLES, NOT_ADMIN, VIEW_ROLES, Level, UnitTree, level
from surveys.people.caller import Caller, Refused, acting_as, require

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

CADRES_LISTED = 40


@dataclass(frozen=True)
class CadreInvited:
    lang: str
    issued: cadres.IssuedInvite


async def invite_usage(uow: UnitOfWork, caller: Caller) -> str:
    """``/invite`` without arguments: admins get the usage, anyone else the refusal."""
    return await require(uow, caller, ADMIN_ROLES, NOT_ADMIN)


async def invite_cadre(uow: UnitOfWork, caller: Caller, text: str,
                       valid_for: timedelta) -> CadreInvited:
    """``/invite UNIT Name; Position; task, task`` creates a profile and its first link;
    ``/invite ID`` gives an existing profile a fresh link (older unused ones stop working).

    Only for admins, and only for units in their scope (every unit of the profile).
    Audited as the admin.

    Raises:
        Refused: not an admin, out of scope, or a request that breaks a rule.
    """
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)

    def in_scope(tree: UnitTree, unit_id: int) -> bool:
        return actor.covers(tree, unit_id, ADMIN_ROLES)

    request = text.strip()
    try:
        if is_digits(request):
            issued = await cadres.issue_invite(uow, int(request), actor=actor.label,
                                               now=caller.now, valid_for=valid_for,
                                               scope=in_scope)
        else:
            issued = await cadres.create_profile(uow, cadres.parse_invite_request(request),
                                                 actor=actor.label, now=caller.now,
                                                 valid_for=valid_for, scope=in_scope)
    except cadres.CadreError as exc:
        key = "out_of_scope" if exc.key == "out_of_scope" else f"cadre.{exc.key}"
        raise Refused(key, lang, exc.params) from exc
    return CadreInvited(lang, issued)


@dataclass(frozen=True)
class CadreList:
    lang: str
    profiles: list[cadres.Profile]  # the page's
    total: int  # in scope; ``profiles`` holds a page of them
    paging: Paging
    level: Level  # where in the scope the list is narrowed to
    path: str | None  # the narrowed-to unit's place in the tree
    # Names what was read: the same version, the same profiles (for a page rendering them
    # once for every reader).
    version: tuple[object, ...] = ()


@dataclass
class _KeptPage:
    """A page of profiles as read, and as made into profiles for the time their links keep
    their states (a link expires with time alone)."""

    total: int
    rows: cadres.ProfileRows
    made: tuple[datetime | None, datetime | None, list[cadres.Profile]] | None = None

    def profiles(self, now: datetime, tree: UnitTree
                 ) -> tuple[datetime | None, datetime | None, list[cadres.Profile]]:
        if self.made is not None:
            since, until, _profiles = self.made
            if (since is None or since <= now) and (until is None or now < until):
                return self.made
        since, until = cadres.links_hold(self.rows, now)
        self.made = (since, until, cadres.made_profiles(self.rows, now, tree))
        return self.made


class KeptCadres:
    """Pages of the cadres' list kept until the audit log moves (:mod:`surveys.kept`: every
    change to a profile, its tasks, its links and its roles is audited), with the unit tree
    kept elsewhere (``published``)."""

    def __init__(self, published: PublishedRows, keep: int = 256) -> None:
        self.published = published
        self.pages: UntilAudit[Hashable, _KeptPage] = UntilAudit(keep)

    @classmethod
    def nothing(cls) -> KeptCadres:
        """Keeping nothing: everything is read afresh (for callers that keep nothing)."""
        return cls(PublishedRows(keep=0), keep=0)


async def list_cadres(uow: UnitOfWork, caller: Caller, *, page: int = 1,
                      size: int = CADRES_LISTED, unit_id: int | None = None,
                      kept: KeptCadres | None = None) -> CadreList:
    """``/cadres`` and the dashboard's page: a page of the cadre profiles of the caller's
    units (narrowed to ``unit_id``'s subtree), by name, with their link status and the ids
    ``/invite ID`` takes. Counted and paged in the database. ``kept``: what the caller keeps
    between calls, if anything (the unit tree and pages of the list).

    Raises:
        Refused: ``not_admin``; ``out_of_scope`` for a unit unknown or outside the scope.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_ADMIN)
    kept = kept or KeptCadres.nothing()
    snapshot = await kept.published.snapshot(uow)
    tree = snapshot.tree
    where = level(tree, actor, VIEW_ROLES, unit_id)
    if where is None:
        raise Refused("out_of_scope", lang, {"unit": unit_id})

    async def read() -> _KeptPage:
        paging = Paging.of(page, size, await uow.cadres.count_in(where.roots))
        people = await uow.cadres.page_in(where.roots, paging.offset, paging.size)
        return _KeptPage(paging.total, await cadres.read_profiles(uow, people))

    key = (where.roots, page, size)
    found = await kept.pages.get(key, snapshot.mark, read)
    since, until, profiles = found.profiles(caller.now, tree)
    path = tree.path(unit_id, lang) if unit_id is not None else None
    return CadreList(lang, profiles, found.total, Paging.of(page, size, found.total), where,
                     path, (snapshot.mark, *key, since, until))
