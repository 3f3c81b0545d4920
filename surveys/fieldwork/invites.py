"""Admin chat: cadres' profiles and invite links (/invite, /cadres), scoped to the admin's units.

The profiles and links themselves (checks, tokens, redeeming a link) are
:mod:`surveys.fieldwork.cadres`, which the command line uses too; here is who may ask for
them in chat. Refusals are :class:`~surveys.people.caller.Refused` with an admin text key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from storage.ids import is_digits
from surveys.fieldwork import cadres
from surveys.people.access import ADMIN_ROLES, NOT_ADMIN, VIEW_ROLES, UnitTree
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
    profiles: list[cadres.Profile]
    total: int  # in scope; ``profiles`` holds at most CADRES_LISTED of them


async def list_cadres(uow: UnitOfWork, caller: Caller) -> CadreList:
    """``/cadres``: the cadre profiles of the caller's units, with their link status and the
    ids ``/invite ID`` takes."""
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_ADMIN)
    tree = await UnitTree.load(uow)
    visible = actor.visible_units(tree, VIEW_ROLES)
    shown = [p for p in await cadres.list_profiles(uow, caller.now)
             if any(u.id in visible for u in p.units)]
    return CadreList(lang, shown[:CADRES_LISTED], len(shown))
