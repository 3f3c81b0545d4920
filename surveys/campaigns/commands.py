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
from storage.models import Campaign, CampaignStatus, Role
from surveys.appraisal.published_rows import PublishedRows
from surveys.campaigns.admin import (
    CampaignReport,
    campaign_report,
    close_campaign,
    counted_reports,
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
from surveys.campaigns.progress import KeptProgress, read_progress
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
from surveys.questionnaire.catalog import SurveyCatalog
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
                  tree: UnitTree | None = None) -> _Scoped:
    """The campaign, if the caller holds one of ``roles`` for its unit (``tree``: the unit
    tree if the caller keeps one; else only the units above the campaign's are read).

    Raises:
        Refused: ``not_admin``; ``no_campaign`` for a code unknown or out of scope (they
            read the same, so a scoped admin does not learn which codes exist elsewhere).
    """
    actor, lang = await acting_as(uow, caller, roles, NOT_ADMIN)
    campaign = await uow.campaigns.by_code(code) if CODE_PATTERN.fullmatch(code) else None
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
                         unit_id: int | None = None, kept: PublishedRows | None = None
                         ) -> CampaignList:
    """``/campaigns`` and the dashboard's list: a page of the campaigns in the caller's scope
    (narrowed to ``unit_id``'s subtree, and to ``status``), open ones first. Counted and
    paged in the database: a page reads its own rows, whatever the scope holds. ``kept``:
    the unit tree, if the caller keeps it.

    Raises:
        Refused: ``not_admin``; ``out_of_scope`` for a unit unknown or outside the scope.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_ADMIN)
    tree = await kept.tree(uow) if kept is not None else await UnitTree.load(uow)
    where = level(tree, actor, VIEW_ROLES, unit_id)
    if where is None:
        raise Refused("out_of_scope", lang, {"unit": unit_id})
    counts = await uow.campaigns.count_by_status(where.roots)
    statuses = [s for s in STATUS_ORDER if status in (None, s)]
    paging = Paging.of(page, size, sum(counts.get(s, 0) for s in statuses))
    campaigns = await uow.campaigns.slices(
        where.roots, slices(counts, statuses, paging.offset, paging.size))
    path = tree.path(unit_id, lang) if unit_id is not None else None
    return CampaignList(lang, await counted_reports(uow, campaigns, caller.now), paging.total,
                        paging, counts, status, where, path)


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
                          kept: PublishedRows | None = None,
                          progress: KeptProgress | None = None,
                          catalog: SurveyCatalog | None = None) -> CampaignStatusView:
    """``/campaign CODE``: progress, trust in the result, deliveries and entry points. What the
    caller keeps between calls, if anything: ``kept`` the unit tree, ``progress`` closed
    campaigns' figures, ``catalog`` the survey versions."""
    snapshot = await kept.snapshot(uow) if kept is not None else None
    tree = snapshot.tree if snapshot is not None else None
    found = await _scoped(uow, caller, code, VIEW_ROLES, tree)
    campaign, lang = found.campaign, found.lang
    counted = (await progress.of(uow, campaign, snapshot.mark if snapshot else None)
               if progress is not None else await read_progress(uow, campaign.id))
    stored = await (catalog or SurveyCatalog()).stored(uow, campaign.survey_id)
    entries = [EntryPointView(e.name, e.label)
               for e in await uow.entry_points.of(campaign.id)]
    if tree is None or campaign.unit_id not in tree.by_id:
        tree = await UnitTree.load(uow)
    return CampaignStatusView(
        lang=lang, report=campaign_report(campaign, caller.now, counted),
        unit_path=tree.path(campaign.unit_id, lang), survey=stored.slug,
        survey_version=stored.version, survey_title=stored.survey.title.get(lang),
        entry_points=entries, can_manage=found.actor.covers_any(found.above, ADMIN_ROLES),
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
