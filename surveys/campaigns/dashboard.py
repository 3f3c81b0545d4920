"""The dashboard's campaign pages: a campaign's live progress, the form that creates one,
closing, and its posters' QR codes.

The same use cases and scopes as the admin chat (:mod:`surveys.campaigns.commands` and the
``/newcampaign`` dialogue, :mod:`surveys.campaigns.dialogue`): a campaign outside the
caller's units is refused exactly as an unknown code (``no_campaign``), which the pages show
as "not found". What does not fit the creation form is an
:class:`~surveys.campaigns.dialogue.InputError`, shown on the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from analysis.timeline import Bucket, buckets
from storage.models import Campaign
from surveys.campaigns.admin import create_campaign
from surveys.campaigns.commands import CampaignStatusView, campaign_link, campaign_status
from surveys.campaigns.dialogue import (
    Created,
    InputError,
    TemplateChoice,
    WindowInput,
    check_window,
    free_code,
    parse_window,
)
from surveys.campaigns.operations import Burden, plan_invitations
from surveys.campaigns.progress import KeptCampaigns
from surveys.campaigns.rules import (
    INVITATION_ENTRY,
    CampaignRuleError,
    check_code,
    check_timezone,
)
from surveys.people.access import ADMIN_ROLES, NOT_ADMIN, UnitTree
from surveys.people.caller import Caller, Refused, acting_as
from surveys.people.names import display_name
from surveys.questionnaire.loader import load_template, template_names

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


# --- a campaign's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    """A way into the campaign and the responses completed through it: ``name`` None is the
    main link, :data:`~surveys.campaigns.rules.INVITATION_ENTRY` the invitations."""

    name: str | None
    label: str | None
    completed: int
    named: bool  # a named entry point (it has its own link and QR code)


@dataclass(frozen=True)
class CampaignPage:
    view: CampaignStatusView
    survey_title: str
    series: list[Bucket]  # completed responses per local day (or week) since opening
    entries: list[EntryRow]

    @property
    def campaign(self) -> Campaign:
        return self.view.report.campaign


def survey_title(definition: dict[str, object], lang: str, fallback: str) -> str:
    title = definition.get("title")
    if isinstance(title, dict):
        text = title.get(lang) or title.get("en")
        if isinstance(text, str) and text:
            return text
    return fallback


async def campaign_page(uow: UnitOfWork, caller: Caller, code: str, *,
                        kept: KeptCampaigns | None = None) -> CampaignPage:
    """A campaign's progress as the admin chat's ``/campaign CODE`` reports it, with the
    completed responses over time and per entry point (what is kept between calls as
    :func:`~surveys.campaigns.commands.campaign_status` takes it).

    Raises:
        Refused: ``not_admin``; ``no_campaign`` (unknown or outside the caller's units).
    """
    view = await campaign_status(uow, caller, code, kept=kept)
    campaign = view.report.campaign
    zone = check_timezone(campaign.timezone)
    first = campaign.opens_at.astimezone(zone).date()
    end = min(caller.now, campaign.closed_at or campaign.closes_at or caller.now)
    last = max(first, end.astimezone(zone).date())
    series = buckets(view.report.completed_at, zone, first, last)
    return CampaignPage(view, view.survey_title, series, entry_rows(view))


def entry_rows(view: CampaignStatusView) -> list[EntryRow]:
    """The main link, the invitations (if any answered through them), every named entry point
    (answered through or not), and any other name answers were counted under."""
    counts = dict(view.report.entry_points)
    rows = [EntryRow(None, None, counts.pop(None, 0), named=False)]
    invited = counts.pop(INVITATION_ENTRY, 0)
    if invited:
        rows.append(EntryRow(INVITATION_ENTRY, None, invited, named=False))
    for entry in view.entry_points:
        rows.append(EntryRow(entry.name, entry.label, counts.pop(entry.name, 0), named=True))
    rows += [EntryRow(name, None, n, named=False) for name, n in sorted(
        counts.items(), key=lambda item: item[0] or "")]
    return rows


@dataclass(frozen=True)
class Poster:
    """What a campaign's poster shows: the survey, the unit, the entry point's label."""

    lang: str
    code: str
    entry: str | None
    label: str | None
    unit: str
    survey_title: str


async def poster(uow: UnitOfWork, caller: Caller, code: str, entry: str | None) -> Poster:
    """A campaign's poster (its main link, or one named entry point's), if the caller may
    see the campaign.

    Raises:
        Refused: ``not_admin``; ``no_campaign`` (also for an entry point it does not have).
    """
    ref = await campaign_link(uow, caller, code)
    campaign = await uow.campaigns.by_code(ref.code)
    assert campaign is not None
    label = None
    if entry is not None:
        found = next((e for e in await uow.entry_points.of(campaign.id) if e.name == entry),
                     None)
        if found is None:
            raise Refused("no_campaign", ref.lang, {"code": code})
        label = found.label
    version = await uow.surveys.get(campaign.survey_id)
    assert version is not None
    return Poster(ref.lang, ref.code, entry, label, ref.unit,
                  survey_title(version.definition, ref.lang, version.slug))


# --- creating one ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitOption:
    code: str
    path: str


@dataclass(frozen=True)
class NewCampaignForm:
    """What the creation form offers: the shipped surveys and the units the admin may
    create campaigns for (with their place in the tree)."""

    lang: str
    templates: list[TemplateChoice]
    units: list[UnitOption]


async def new_campaign_form(uow: UnitOfWork, caller: Caller) -> NewCampaignForm:
    """Raises: Refused: ``not_admin`` (an auditor only reads)."""
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    tree = await UnitTree.load(uow)
    units = sorted((UnitOption(tree.by_id[i].code, tree.path(i, lang))
                    for i in actor.visible_units(tree, ADMIN_ROLES)), key=lambda u: u.path)
    # Residents' surveys first: the form's default is the everyday campaign.
    templates = sorted((TemplateChoice(name, survey.title, survey.audience)
                        for name, survey in ((n, load_template(n)) for n in template_names())),
                       key=lambda c: (c.audience != "residents", c.name))
    return NewCampaignForm(lang, templates, units)


@dataclass(frozen=True)
class CampaignInput:
    """The creation form as posted: a survey template, a unit's code, a campaign code
    (empty: suggested), a closing time (a date, a date and time, or a duration such as
    ``14d``; empty: the configured default) and the time zone it is read in."""

    survey: str
    unit: str
    code: str
    closes: str
    timezone: str = "UTC"


async def create_from_form(uow: UnitOfWork, caller: Caller, form: CampaignInput, *,
                           burden: Burden, default_days: int) -> Created:
    """Create a campaign that opens now, as ``/newcampaign`` and ``campaign create`` do
    (audited as the caller); its invitations go out once the scheduler sees it.

    Raises:
        Refused: ``not_admin``.
        InputError: an unknown survey or unit, a unit outside the caller's, an unreadable or
            past closing time, an unknown time zone, a malformed or taken code.
    """
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    if form.survey not in template_names():
        raise InputError("unknown_survey", value=form.survey)
    survey = load_template(form.survey)
    tree = await UnitTree.load(uow)
    unit = tree.by_code.get(form.unit.strip())
    if unit is None:
        raise InputError("unknown_unit", code=form.unit)
    if not actor.covers(tree, unit.id, ADMIN_ROLES):
        # Said as an unknown unit: the form does not tell which codes exist elsewhere.
        raise InputError("unknown_unit", code=form.unit)
    window = _window(form, caller.now, default_days)
    opens_at, closes_at = window.resolve(caller.now)
    code = form.code.strip() or await free_code(uow, unit.code, opens_at, window.timezone)
    try:
        check_code(code)
    except CampaignRuleError as exc:
        raise InputError("bad_code", code=code) from exc
    if await uow.campaigns.by_code(code) is not None:
        raise InputError("code_taken", code=code)
    plan = await plan_invitations(uow, unit_id=unit.id, audience=survey.audience,
                                  opens_at=opens_at, burden=burden, tree=tree)
    try:
        campaign = await create_campaign(
            uow, survey=survey, unit_code=unit.code, code=code, opens_at=opens_at,
            closes_at=closes_at, now=caller.now, actor=actor.label, timezone=window.timezone)
    except CampaignRuleError as exc:
        raise InputError("rule", reason=str(exc)) from exc
    return Created(code=campaign.code, status=campaign.status, unit=display_name(unit, lang),
                   opens_at=opens_at, closes_at=closes_at, timezone=window.timezone,
                   recipients=len(plan.recipients))


def _window(form: CampaignInput, now: datetime, default_days: int) -> WindowInput:
    """Open now, close as the form says (read in its time zone, as the chat reads it)."""
    zone = form.timezone.strip() or "UTC"
    zone = zone.upper() if zone.lower() in ("utc", "gmt") else zone
    try:
        check_timezone(zone)
    except CampaignRuleError as exc:
        raise InputError("bad_timezone", zone=zone) from exc
    closes = form.closes.strip()
    if len(closes.split()) > 1:
        raise InputError("bad_time", value=closes)
    window = parse_window(closes, now, zone)
    if not window.given:
        window = WindowInput(zone, None, None, timedelta(days=default_days))
    check_window(window, now)
    return window
