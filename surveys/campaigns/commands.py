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

from storage.models import Campaign, CampaignStatus, Role
from surveys.campaigns.admin import CampaignReport, campaign_reports, close_campaign
from surveys.campaigns.operations import (
    ENTRY_LABEL_MAX,
    AudiencePlan,
    Burden,
    ManualReminder,
    add_entry_point,
    remind_now,
    reminder_plan,
)
from surveys.campaigns.rules import CODE_PATTERN, CampaignRuleError, check_entry_name, is_open
from surveys.people.access import ADMIN_ROLES, NOT_ADMIN, VIEW_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as, require
from surveys.people.names import display_name
from surveys.questionnaire.schema import Survey
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
    tree: UnitTree


async def _scoped(uow: UnitOfWork, caller: Caller, code: str, roles: Sequence[Role]) -> _Scoped:
    """The campaign, if the caller holds one of ``roles`` for its unit.

    Raises:
        Refused: ``not_admin``; ``no_campaign`` for a code unknown or out of scope (they
            read the same, so a scoped admin does not learn which codes exist elsewhere).
    """
    actor, lang = await acting_as(uow, caller, roles, NOT_ADMIN)
    campaign = await uow.campaigns.by_code(code) if CODE_PATTERN.fullmatch(code) else None
    tree = await UnitTree.load(uow)
    if campaign is None or not actor.covers(tree, campaign.unit_id, roles):
        raise Refused("no_campaign", lang, {"code": code})
    return _Scoped(actor, lang, campaign, tree)


_STATUS_ORDER = {CampaignStatus.OPEN: 0, CampaignStatus.SCHEDULED: 1, CampaignStatus.DRAFT: 2,
                 CampaignStatus.CLOSED: 3}


@dataclass(frozen=True)
class CampaignList:
    lang: str
    reports: list[CampaignReport]
    total: int  # in scope; ``reports`` holds at most CAMPAIGNS_LISTED of them


async def list_campaigns(uow: UnitOfWork, caller: Caller) -> CampaignList:
    """``/campaigns``: the campaigns in the caller's scope, open ones first."""
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_ADMIN)
    tree = await UnitTree.load(uow)
    visible = actor.visible_units(tree, VIEW_ROLES)
    reports = [r for r in await campaign_reports(uow, caller.now)
               if r.campaign.unit_id in visible]
    reports.sort(key=lambda r: (_STATUS_ORDER[r.campaign.status],
                                -r.campaign.opens_at.timestamp(), r.campaign.code))
    return CampaignList(lang, reports[:CAMPAIGNS_LISTED], len(reports))


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


async def campaign_status(uow: UnitOfWork, caller: Caller, code: str) -> CampaignStatusView:
    """``/campaign CODE``: progress, trust in the result, deliveries and entry points."""
    found = await _scoped(uow, caller, code, VIEW_ROLES)
    campaign, tree = found.campaign, found.tree
    [report] = await campaign_reports(uow, caller.now, campaign.code)
    version = await uow.surveys.get(campaign.survey_id)
    assert version is not None
    entries = [EntryPointView(e.name, e.label)
               for e in await uow.entry_points.of(campaign.id)]
    return CampaignStatusView(
        lang=found.lang, report=report, unit_path=tree.path(campaign.unit_id, found.lang),
        survey=version.slug, survey_version=version.version,
        survey_title=Survey.model_validate(version.definition).title.get(found.lang),
        entry_points=entries,
        can_manage=found.actor.covers(tree, campaign.unit_id, ADMIN_ROLES),
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
