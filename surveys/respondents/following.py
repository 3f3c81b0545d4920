"""Consent to invitations: which units a resident wants to hear from.

Asked once, when the person first joins (or after their first poll, about its unit), and
changed at any time with /units. Nobody is invited about a unit they did not choose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.models import Campaign, Contact
from surveys.people.access import UnitTree
from surveys.people.caller import resolve_language
from surveys.people.names import display_name
from surveys.respondents.journey import Picker, Reply, Respondent, UnitChoice

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

PAGE_SIZE = 8


async def unit_picker(
    uow: UnitOfWork, contact: Contact, lang: str, parent_id: int | None, page: int,
    tree: UnitTree | None = None,
) -> Picker | None:
    """A page of the units under ``parent_id``; None when there are no units at all."""
    tree = tree or await UnitTree.load(uow)
    if parent_id is not None and parent_id not in tree.by_id:
        parent_id = None
    units = tree.children.get(parent_id, [])
    if not units:
        return None
    chosen = await uow.subscriptions.unit_ids(contact.id)
    pages = (len(units) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    shown = units[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    parent = tree.by_id.get(parent_id) if parent_id is not None else None
    return Picker(
        parent_id=parent_id,
        up_id=parent.parent_id if parent is not None else None,
        parent_name=display_name(parent, lang) if parent is not None else None,
        choices=tuple(
            UnitChoice(u.id, display_name(u, lang), bool(tree.children.get(u.id)),
                       u.id in chosen)
            for u in shown
        ),
        page=page,
        pages=pages,
    )


async def _contact(uow: UnitOfWork, who: Respondent) -> tuple[Contact, str]:
    contact = await uow.contacts.get_or_create(who.telegram_user_id, who.chat_id)
    return contact, resolve_language(contact, who.client_language, who.default_language)


async def show_units(uow: UnitOfWork, who: Respondent, parent_id: int | None = None,
                     page: int = 0) -> Reply:
    """``/units`` and moving around the picker."""
    contact, lang = await _contact(uow, who)
    picker = await unit_picker(uow, contact, lang, parent_id, page)
    if picker is None:
        return Reply(lang, notice="no_units")
    return Reply(lang, notice="choose_units", picker=picker)


async def toggle_unit(uow: UnitOfWork, who: Respondent, unit_id: int, parent_id: int | None,
                      page: int) -> Reply:
    contact, lang = await _contact(uow, who)
    tree = await UnitTree.load(uow)
    if unit_id not in tree.by_id:
        return Reply(lang, notice="stale", only_notice=True)
    if unit_id in await uow.subscriptions.unit_ids(contact.id):
        await uow.subscriptions.remove(contact.id, unit_id)
    else:
        await uow.subscriptions.add(contact.id, unit_id)
    contact.units_chosen = True
    picker = await unit_picker(uow, contact, lang, parent_id, page, tree)
    return Reply(lang, notice="choose_units", picker=picker)


async def units_done(uow: UnitOfWork, who: Respondent) -> Reply:
    contact, lang = await _contact(uow, who)
    contact.units_chosen = True
    tree = await UnitTree.load(uow)
    names = sorted(tree.path(i, lang) for i in await uow.subscriptions.unit_ids(contact.id)
                   if i in tree.by_id)
    if not names:
        return Reply(lang, notice="units_none")
    return Reply(lang, notice="units_saved", params={"units": "; ".join(names)})


async def follow_offer(
    uow: UnitOfWork, who: Respondent, campaign: Campaign, lang: str
) -> tuple[int, str] | None:
    """After a poll: offer invitations about its unit, once, to someone never asked."""
    contact = await uow.contacts.by_user(who.telegram_user_id)
    if contact is None or contact.units_chosen or contact.opted_out:
        return None
    # After every submitted poll: the unit's line up only, never the whole tree (a province
    # has hundreds of thousands of units), and only for someone who follows any.
    chosen = await uow.subscriptions.unit_ids(contact.id)
    if chosen and chosen & set(await uow.units.ancestors(campaign.unit_id)):
        return None
    return campaign.unit_id, display_name(campaign.unit, lang)


async def answer_follow(uow: UnitOfWork, who: Respondent, unit_id: int, yes: bool) -> Reply:
    contact, lang = await _contact(uow, who)
    tree = await UnitTree.load(uow)
    unit = tree.by_id.get(unit_id)
    if unit is None:
        return Reply(lang, notice="stale", only_notice=True)
    contact.units_chosen = True
    if not yes:
        return Reply(lang, notice="not_following")
    await uow.subscriptions.add(contact.id, unit_id)
    return Reply(lang, notice="following", params={"unit": display_name(unit, lang)})
