"""Admin chat: the scoped campaign commands (/campaigns, /campaign, /close, /remind, /entry).

Every use case here checks the caller's role first, and the unit scope second, so a person
without the role learns nothing (not even whether a campaign code exists). What the caller
may not do is raised as :class:`~surveys.people.caller.Refused`, with a text key the chat layer
translates (``admin.<key>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.campaigns import Slice
from storage.models import Campaign, CampaignStatus, EntryPoint, Role
from surveys.campaigns.admin import (
    CampaignReport,
    campaign_report,
    close_campaign,
)
from surveys.campaigns.operations import (
    ENTRY_LABEL_MAX,
    AudiencePlan,
    Burden,
    ManualReminder,
    add_entry_point,
    remind_now,
    reminder_plan,
)
from surveys.campaigns.progress import KeptCampaigns
from surveys.campaigns.rules import CODE_PATTERN, CampaignRuleError, check_entry_name, is_open
from surveys.paging import Paging
from surveys.people.access import (
    ADMIN_ROLES,
    NOT_ADMIN,
    VIEW_ROLES,
    Actor,
    Level,
    UnitTree,
    level,
)
from surveys.people.caller import Caller, Refused, acting_as, require
from surveys.people.names import display_name
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

CAMPAIGNS_LISTED = 40


async def require_role(uow: UnitOfWork, caller: Caller, roles: Sequence[Role]) -> str:
    """Check the caller holds one of ``roles`` somewhere; returns their language.

    Raises:
        Refused: ``not_admin``.
    """
    return await require(uow, caller, roles, NOT_ADMIN)


@dataclass(frozen=True)
class _Scoped:
    """A campaign the caller may act on with the roles asked for."""

    actor: Actor
    lang: str
    campaign: Campaign
    above: list[int]  # its unit and the units above it, nearest first


async def _scoped(uow: UnitOfWork, caller: Caller, code: str, roles: Sequence[Role],
                  tree: UnitTree | None = None, campaign: Campaign | None = None) -> _Scoped:
    """The campaign, if the caller holds one of ``roles`` for its unit (``tree``: the unit
    tree if the caller keeps one, else only the units above the campaign's are read;
    ``campaign``: the campaign of that code if the caller kept it).

    Raises:
        Refused: ``not_admin``; ``no_campaign`` for a code unknown or out of scope (they
            read the same, so a scoped admin does not learn which codes exist elsewhere).
    """
    actor, lang = await acting_as(uow, caller, roles, NOT_ADMIN)
    if campaign is None and CODE_PATTERN.fullmatch(code):
        campaign = await uow.campaigns.by_code(code)
    above: list[int] = []
    if campaign is not None:
        above = (tree.ancestors(campaign.unit_id) if tree is not None
                 and campaign.unit_id in tree.by_id
                 else await uow.units.ancestors(campaign.unit_id))
    if campaign is None or not actor.covers_any(above, roles):
        raise Refused("no_campaign", lang, {"code": code})
    return _Scoped(actor, lang, campaign, above)


# Open ones first: what an admin watches; then the newest opened of each status.
STATUS_ORDER = (CampaignStatus.OPEN, CampaignStatus.SCHEDULED, CampaignStatus.DRAFT,
                CampaignStatus.CLOSED)


@dataclass(frozen=True)
class CampaignList:
    lang: str
    reports: list[CampaignReport]  # the page's
    total: int  # in scope (of ``status``, if given); ``reports`` holds a page of them
    paging: Paging
    counts: dict[CampaignStatus, int]  # in scope, whatever their status
    status: CampaignStatus | None  # the one shown (None: every status)
    level: Level  # where in the scope the list is narrowed to
    path: str | None  # the narrowed-to unit's place in the tree
    # Names what was read: the same version, the same rows and figures (for a page
    # rendering them once for every reader).
    version: tuple[object, ...] = ()


def slices(counts: dict[CampaignStatus, int], statuses: Sequence[CampaignStatus],
           offset: int, limit: int) -> list[Slice]:
    """The rows ``offset`` to ``offset + limit`` of a list of ``statuses`` in that order (each
    status's campaigns newest first), as a slice of each status they fall in."""
    parts: list[Slice] = []
    start = 0
    for status in statuses:
        n = counts.get(status, 0)
        lo, hi = max(offset, start), min(offset + limit, start + n)
        if lo < hi:
            parts.append(Slice(status, lo - start, hi - lo))
        start += n
    return parts


async def list_campaigns(uow: UnitOfWork, caller: Caller, *, page: int = 1,
                         size: int = CAMPAIGNS_LISTED, status: CampaignStatus | None = None,
                         unit_id: int | None = None, kept: KeptCampaigns | None = None
                         ) -> CampaignList:
    """``/campaigns`` and the dashboard's list: a page of the campaigns in the caller's scope
    (narrowed to ``unit_id``'s subtree, and to ``status``), open ones first. Counted and
    paged in the database: a page reads its own rows, whatever the scope holds. ``kept``:
    what the caller keeps between calls, if anything (the unit tree, pages of the list and
    closed campaigns' numbers of responses, until the audit log moves).

    Raises:
        Refused: ``not_admin``; ``out_of_scope`` for a unit unknown or outside the scope.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_ADMIN)
    kept = kept or KeptCampaigns.nothing()
    snapshot = await kept.published.snapshot(uow)
    tree = snapshot.tree
    where = level(tree, actor, VIEW_ROLES, unit_id)
    if where is None:
        raise Refused("out_of_scope", lang, {"unit": unit_id})
    statuses = [s for s in STATUS_ORDER if status in (None, s)]

    async def read() -> tuple[dict[CampaignStatus, int], list[Campaign]]:
        counts = await uow.campaigns.count_by_status(where.roots)
        paging = Paging.of(page, size, sum(counts.get(s, 0) for s in statuses))
        return counts, await uow.campaigns.slices(
            where.roots, slices(counts, statuses, paging.offset, paging.size))

    key = (where.roots, status, page, size)
    counts, campaigns = await kept.pages.get(key, snapshot.mark, read)
    numbers = await kept.counts(uow, campaigns, snapshot.mark)
    paging = Paging.of(page, size, sum(counts.get(s, 0) for s in statuses))
    reports = [campaign_report(c, caller.now, numbers[c.id]) for c in campaigns]
    path = tree.path(unit_id, lang) if unit_id is not None else None
    # What is not kept (an open campaign's responses) is part of what was read.
    live = tuple((c.id, numbers[c.id].started, numbers[c.id].completed) for c in campaigns
                 if c.status != CampaignStatus.CLOSED)
    return CampaignList(lang, reports, paging.total, paging, counts, status, where, path,
                        (snapshot.mark, *key, live))


@dataclass(frozen=True)
class EntryPointView:
    name: str
    label: str | None


@dataclass(frozen=True)
class CampaignStatusView:
    lang: str
    report: CampaignReport
    unit_path: str
    survey: str
    survey_version: int
    survey_title: str  # in the reader's language (the slug is an id nobody reads)
    entry_points: list[EntryPointView]
    can_manage: bool  # an admin for its unit (an auditor only reads)


async def campaign_status(uow: UnitOfWork, caller: Caller, code: str, *,
                          kept: KeptCampaigns | None = None) -> CampaignStatusView:
    """``/campaign CODE``: progress, trust in the result, deliveries and entry points.
    ``kept``: what the caller keeps between calls, if anything (the unit tree, the survey
    versions, the campaign and its entry points until the audit log moves, a closed
    campaign's progress)."""
    kept = kept or KeptCampaigns.nothing()
    snapshot = await kept.published.snapshot(uow)
    tree, mark = snapshot.tree, snapshot.mark
    one: Campaign | None = None
    entries: tuple[EntryPoint, ...] = ()
    if CODE_PATTERN.fullmatch(code):

        async def read() -> tuple[Campaign | None, tuple[EntryPoint, ...]]:
            one = await uow.campaigns.by_code(code)
            return one, tuple(await uow.entry_points.of(one.id)) if one else ()

        one, entries = await kept.by_code.get(code, mark, read)
    found = await _scoped(uow, caller, code, VIEW_ROLES, tree, one)
    campaign = found.campaign
    counted = await kept.progress(uow, campaign, mark)
    stored = await kept.catalog.stored(uow, campaign.survey_id)
    if campaign.unit_id not in tree.by_id:  # a unit newer than the tree kept: read it all
        tree = await UnitTree.load(uow)
    lang = found.lang
    return CampaignStatusView(
        lang=lang, report=campaign_report(campaign, caller.now, counted),
        unit_path=tree.path(campaign.unit_id, lang), survey=stored.slug,
        survey_version=stored.version, survey_title=stored.survey.title.get(lang),
        entry_points=[EntryPointView(e.name, e.label) for e in entries],
        can_manage=found.actor.covers_any(found.above, ADMIN_ROLES),
    )


@dataclass(frozen=True)
class CampaignRef:
    lang: str
    code: str
    unit: str
    status: CampaignStatus
    unit_code: str = ""  # for the unit's public page (its address is the code)


def _ref(lang: str, campaign: Campaign) -> CampaignRef:
    return CampaignRef(lang, campaign.code, display_name(campaign.unit, lang), campaign.status,
                       campaign.unit.code)


async def campaign_link(uow: UnitOfWork, caller: Caller, code: str) -> CampaignRef:
    """The campaign behind a QR code button, if the caller may see it."""
    found = await _scoped(uow, caller, code, VIEW_ROLES)
    return _ref(found.lang, found.campaign)


async def _closable(uow: UnitOfWork, caller: Caller, code: str) -> _Scoped:
    found = await _scoped(uow, caller, code, ADMIN_ROLES)
    if found.campaign.status == CampaignStatus.CLOSED:
        raise Refused("already_closed", found.lang, {"code": found.campaign.code})
    return found


async def check_close(uow: UnitOfWork, caller: Caller, code: str) -> CampaignRef:
    """``/close CODE`` before the confirmation: may the caller close it, and is it open?"""
    found = await _closable(uow, caller, code)
    return _ref(found.lang, found.campaign)


async def close(uow: UnitOfWork, caller: Caller, code: str) -> CampaignRef:
    """Close the campaign now (audited as the caller)."""
    found = await _closable(uow, caller, code)
    try:
        closed = await close_campaign(uow, found.campaign.code, caller.now, found.actor.label)
    except CampaignRuleError as exc:
        raise Refused("rule", found.lang, {"reason": str(exc)}) from exc
    return _ref(found.lang, closed)


@dataclass(frozen=True)
class ReminderView:
    lang: str
    code: str
    plan: AudiencePlan
    queued: int = 0


async def check_remind(uow: UnitOfWork, caller: Caller, code: str, *, secret: bytes,
                       burden: Burden) -> ReminderView:
    """``/remind CODE`` before the confirmation: who would be reminded, who skipped
    (``secret``: the respondent keys', to see who has answered; ``burden``: the limits).

    Raises:
        Refused: not open, or nobody to remind (a broadcast to 0 recipients).
    """
    found = await _scoped(uow, caller, code, ADMIN_ROLES)
    campaign, lang = found.campaign, found.lang
    if not is_open(campaign, caller.now):
        raise Refused("not_open", lang, {"code": campaign.code,
                                         "status": campaign.status.value})
    plan = await reminder_plan(uow, campaign, secret, caller.now, burden)
    if not plan.recipients:
        raise Refused("nobody_to_remind", lang, {"code": campaign.code,
                                                 "skipped": plan.skipped_count})
    return ReminderView(lang, campaign.code, plan)


async def remind(uow: UnitOfWork, caller: Caller, code: str, *, secret: bytes,
                 burden: Burden) -> ReminderView:
    """Queue the reminders now (audited as the caller)."""
    found = await _scoped(uow, caller, code, ADMIN_ROLES)
    try:
        done: ManualReminder = await remind_now(
            uow, found.campaign.code, caller.now, secret=secret, burden=burden,
            actor=found.actor.label,
        )
    except CampaignRuleError as exc:
        raise Refused("rule", found.lang, {"reason": str(exc)}) from exc
    return ReminderView(found.lang, found.campaign.code, done.plan, done.queued)


@dataclass(frozen=True)
class EntryAdded:
    lang: str
    code: str
    name: str
    label: str | None


async def add_entry(
    uow: UnitOfWork, caller: Caller, code: str, name: str, label: str | None
) -> EntryAdded:
    """``/entry CODE NAME [label]``: a named way into the campaign (audited as the caller)."""
    found = await _scoped(uow, caller, code, ADMIN_ROLES)
    campaign, lang = found.campaign, found.lang
    try:
        check_entry_name(name)
    except CampaignRuleError as exc:
        raise Refused("bad_entry_name", lang, {"name": name}) from exc
    if await uow.entry_points.exists(campaign.id, name):
        raise Refused("entry_taken", lang, {"code": campaign.code, "name": name})
    label = clean_text(label or "", multiline=False)[:ENTRY_LABEL_MAX] or None
    try:
        await add_entry_point(uow, campaign.code, name, label, found.actor.label)
    except CampaignRuleError as exc:
        raise Refused("rule", lang, {"reason": str(exc)}) from exc
    return EntryAdded(lang, campaign.code, name, label)
