"""Running campaigns: who is invited, reminders, the scheduled steps, entry points.

Use cases take a unit of work and return what happened; the scheduler and the outbox sender
in ``bot/`` call them, as do the CLI and the admin chat commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.models import LIVE_STATUSES, Campaign, CampaignStatus
from storage.subscriptions import Recipient
from surveys.campaigns import scheduling
from surveys.campaigns.rules import (
    CampaignRuleError,
    check_code,
    check_entry_name,
    check_timezone,
    check_transition,
    initial_status,
    is_open,
    recurrence_from_str,
)
from surveys.campaigns.scheduling import CLOSE, INVITE, OPEN, RECUR, month_bounds
from surveys.people.access import UnitTree
from surveys.people.names import Names, display_name
from surveys.respondents.anonymity import respondent_key
from surveys.text import clean_text

ENTRY_LABEL_MAX = 200  # the column's length

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

SCHEDULER = "scheduler"

# Why someone in the audience is not sent a message.
OPTED_OUT = "opted_out"
UNREACHABLE = "unreachable"
PROMPT_BUDGET = "prompt_budget"
QUESTIONNAIRE_BUDGET = "questionnaire_budget"


@dataclass(frozen=True)
class Burden:
    """Limits on how often the people measured are bothered (config.yaml ``burden``)."""

    max_prompts_per_month: int = 4
    max_questionnaires_per_month: int = 2
    min_gap_between_reminders: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class AudiencePlan:
    """Who a message would go to, and who would be skipped and why."""

    audience: str
    recipients: list[Recipient]
    skipped: dict[str, list[Recipient]] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(len(people) for people in self.skipped.values())

    def summary(self) -> dict[str, Any]:
        return {"queued": len(self.recipients),
                "skipped": {reason: len(people) for reason, people in self.skipped.items()}}

    def skipped_names(self, reason: str, lang: str = "en") -> list[str]:
        """Cadres are named (in ``lang``) so the admin can act; residents are only counted."""
        return [display_name(Names(r.name, r.name_zh), lang)
                for r in self.skipped.get(reason, []) if r.name]


async def _audience(
    uow: UnitOfWork, tree: UnitTree, unit_id: int, audience: str
) -> list[Recipient]:
    units = tree.subtree(unit_id)
    if audience == "cadres":
        return await uow.subscriptions.cadres(units)
    # Residents who chose this unit, a unit within it (they live there), or a unit above it
    # (they chose to hear about everything there).
    return await uow.subscriptions.residents(units | set(tree.ancestors(unit_id)))


async def _within_budget(
    uow: UnitOfWork, people: Sequence[Recipient], at: datetime, audience: str, burden: Burden,
    *, questionnaire: bool,
) -> tuple[list[Recipient], dict[str, list[Recipient]]]:
    skipped: dict[str, list[Recipient]] = {}
    ok: list[Recipient] = []
    # Two campaigns queueing at once must not both see the same spare budget.
    await uow.outbox.lock_budget()
    start, end = month_bounds(at)
    ids = [p.contact_id for p in people]
    prompts = await uow.outbox.prompts_between(start, end, ids)
    asked = (
        await uow.outbox.prompts_between(start, end, ids, cadre_questionnaires=True)
        if questionnaire and audience == "cadres" else {}
    )
    for person in people:
        if person.opted_out:
            skipped.setdefault(OPTED_OUT, []).append(person)
        elif person.unreachable:
            skipped.setdefault(UNREACHABLE, []).append(person)
        elif prompts.get(person.contact_id, 0) >= burden.max_prompts_per_month:
            skipped.setdefault(PROMPT_BUDGET, []).append(person)
        elif asked.get(person.contact_id, 0) >= burden.max_questionnaires_per_month:
            skipped.setdefault(QUESTIONNAIRE_BUDGET, []).append(person)
        else:
            ok.append(person)
    return ok, skipped


async def plan_invitations(
    uow: UnitOfWork, *, unit_id: int, audience: str, opens_at: datetime, burden: Burden,
    tree: UnitTree | None = None,
) -> AudiencePlan:
    """Who a campaign opening at ``opens_at`` would invite: shown to the admin before
    confirming, and applied again when the campaign opens."""
    tree = tree or await UnitTree.load(uow)
    people = await _audience(uow, tree, unit_id, audience)
    ok, skipped = await _within_budget(uow, people, opens_at, audience, burden,
                                       questionnaire=True)
    return AudiencePlan(audience, ok, skipped)


@dataclass(frozen=True)
class StepResult:
    campaign_code: str
    job: str
    outcome: dict[str, Any]
    queued: int = 0  # messages added to the outbox


async def _non_completers(
    uow: UnitOfWork, campaign: Campaign, secret: bytes, people: Sequence[Recipient]
) -> list[Recipient]:
    # The respondent key is derived from the Telegram id, so completion can be checked
    # without any table linking the person to their answers.
    keys = {respondent_key(secret, campaign.id, p.telegram_user_id): p for p in people}
    done = await uow.responses.completed_keys(campaign.id, list(keys))
    return [p for key, p in keys.items() if key not in done]


async def _answering(uow: UnitOfWork, campaign: Campaign, secret: bytes) -> list[int]:
    """Contacts with an unfinished response to the campaign. Nothing stored says who they
    are, so each contact's respondent key is computed and looked for (an HMAC each: about a
    second per million contacts), and only when someone is answering at all."""
    keys = await uow.responses.in_progress_keys(campaign.id)
    found: list[int] = []
    after = 0
    while keys:
        page = await uow.contacts.users(after)
        if not page:
            break
        found.extend(contact_id for contact_id, user_id in page
                     if respondent_key(secret, campaign.id, user_id) in keys)
        after = page[-1][0]
    return found


async def reminder_plan(
    uow: UnitOfWork, campaign: Campaign, secret: bytes, at: datetime, burden: Burden,
) -> AudiencePlan:
    """Those invited, or who started on their own, and have not completed."""
    # Invitations still waiting to go out are not reminded of: that would be two prompts at once.
    invited = await uow.outbox.contacts_with(campaign.id, INVITE, sent_only=True)
    answering = await _answering(uow, campaign, secret)
    people = await uow.subscriptions.recipients_for_reminder(campaign.id, invited, answering)
    pending = await _non_completers(uow, campaign, secret, people)
    ok, skipped = await _within_budget(uow, pending, at, campaign.audience, burden,
                                       questionnaire=False)
    return AudiencePlan(campaign.audience, ok, skipped)


async def run_step(
    uow: UnitOfWork, campaign_id: int, job: str, now: datetime, *, secret: bytes,
    burden: Burden,
) -> StepResult | None:
    """Run one scheduled step of a campaign, once: None if it already ran or no longer
    applies. The step is recorded in the same transaction as its effect."""
    campaign = await uow.campaigns.lock(campaign_id)
    if campaign is None or not await uow.runs.claim(campaign_id, job, now):
        return None
    outcome: dict[str, Any]
    queued = 0
    if campaign.status not in LIVE_STATUSES:
        outcome = {"skipped": f"the campaign is {campaign.status.value}"}
    elif job == OPEN:
        outcome = await _open(uow, campaign, now)
    elif job == CLOSE:
        outcome = await close(uow, campaign, now, SCHEDULER)
    elif job == INVITE:
        plan = await plan_invitations(uow, unit_id=campaign.unit_id, audience=campaign.audience,
                                      opens_at=now, burden=burden)
        queued = await uow.outbox.enqueue(campaign.id, INVITE, now,
                                          [r.contact_id for r in plan.recipients])
        outcome = plan.summary()
    elif job == RECUR:
        outcome = await _recur(uow, campaign, now)
    elif scheduling.is_reminder(job):
        plan = await reminder_plan(uow, campaign, secret, now, burden)
        queued = await uow.outbox.enqueue(campaign.id, job, now,
                                          [r.contact_id for r in plan.recipients])
        outcome = plan.summary()
    else:
        outcome = {"skipped": f"unknown step {job!r}"}
    await uow.runs.set_outcome(campaign_id, job, outcome)
    return StepResult(campaign.code, job, outcome, queued)


async def skip_step(uow: UnitOfWork, campaign_id: int, job: str, now: datetime,
                    reason: str) -> bool:
    """Record a missed step as not run, so it is never run later."""
    if not await uow.runs.claim(campaign_id, job, now):
        return False
    await uow.runs.set_outcome(campaign_id, job, {"skipped": reason})
    return True


async def _open(uow: UnitOfWork, campaign: Campaign, now: datetime) -> dict[str, Any]:
    if campaign.status != CampaignStatus.SCHEDULED:
        return {"skipped": f"the campaign is already {campaign.status.value}"}
    check_transition(campaign.code, campaign.status, CampaignStatus.OPEN)
    campaign.status = CampaignStatus.OPEN
    await uow.audit.record(SCHEDULER, "campaign.open", "campaign", campaign.code,
                           before={"status": "scheduled"}, after={"status": "open"})
    return {"status": "open"}


async def close(uow: UnitOfWork, campaign: Campaign, now: datetime,
                actor: str) -> dict[str, Any]:
    """Close the campaign: it stops taking answers (those given are kept) and its unsent
    invitations and reminders are dropped.

    Raises:
        CampaignRuleError: it is already closed.
    """
    before = campaign.status.value
    check_transition(campaign.code, campaign.status, CampaignStatus.CLOSED)
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = now
    # Messages not yet sent are pointless once the poll is closed.
    await uow.outbox.cancel_pending(campaign.id, "the campaign closed")
    await uow.audit.record(actor, "campaign.close", "campaign", campaign.code,
                           before={"status": before},
                           after={"status": "closed", "closed_at": now.isoformat()})
    return {"status": "closed"}


def successor_code(series: str, opens_at: datetime, taken: set[str]) -> str:
    base = f"{series[:28].rstrip('-_')}-{opens_at:%Y%m%d}"
    code = base
    n = 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    return check_code(code)


async def _recur(uow: UnitOfWork, campaign: Campaign, now: datetime) -> dict[str, Any]:
    recurrence = recurrence_from_str(campaign.recurrence)
    assert recurrence is not None
    length = (campaign.closes_at - campaign.opens_at) if campaign.closes_at else None
    series = campaign.series or campaign.code
    first = await uow.campaigns.by_code(series)
    anchor = first.opens_at if first is not None else campaign.opens_at
    opens_at = recurrence.next_opening(campaign.opens_at, campaign.timezone, anchor)
    skipped = 0
    # After a long downtime, skip runs that would already be over (or, without a closing
    # time, that would already have started): never create a poll nobody could answer, nor
    # a pile of them at once.
    while (opens_at + length <= now) if length is not None else (opens_at <= now):
        following = recurrence.next_opening(opens_at, campaign.timezone, anchor)
        if length is None and following > now:
            break
        opens_at = following
        skipped += 1
    taken = {c.code for c in await uow.campaigns.all()}
    code = successor_code(series, opens_at.astimezone(check_timezone(campaign.timezone)), taken)
    successor = Campaign(
        code=code, survey_id=campaign.survey_id, unit_id=campaign.unit_id,
        status=initial_status(opens_at, now),
        opens_at=opens_at, closes_at=opens_at + length if length else None,
        audience=campaign.audience, timezone=campaign.timezone,
        reminders=list(campaign.reminders), recurrence=campaign.recurrence,
        target_responses=campaign.target_responses, series=series,
    )
    uow.campaigns.add(successor)
    await uow.session.flush()
    await uow.audit.record(
        SCHEDULER, "campaign.create", "campaign", code,
        after={"code": code, "series": series, "previous": campaign.code,
               "status": successor.status.value, "opens_at": opens_at.isoformat(),
               "closes_at": successor.closes_at.isoformat() if successor.closes_at else None},
    )
    return {"next": code, "opens_at": opens_at.isoformat(), "periods_skipped": skipped}


@dataclass(frozen=True)
class ManualReminder:
    queued: int
    plan: AudiencePlan


async def remind_now(
    uow: UnitOfWork, code: str, now: datetime, *, secret: bytes, burden: Burden, actor: str,
) -> ManualReminder:
    """``/remind CODE``: remind those who have not completed, now.

    Raises:
        CampaignRuleError: unknown or not open campaign, or too soon after the last reminder.
    """
    campaign = await uow.campaigns.by_code(code)
    if campaign is None:
        raise CampaignRuleError(f"unknown campaign {code!r}")
    campaign = await uow.campaigns.lock(campaign.id)
    assert campaign is not None
    if not is_open(campaign, now):
        raise CampaignRuleError(f"campaign {code!r} is {campaign.status.value}; only an open "
                                "campaign can send reminders")
    kinds = await uow.outbox.kinds(campaign.id)
    last = max((due for kind, due in kinds.items() if scheduling.is_reminder(kind)),
               default=None)
    if last is not None and now - last < burden.min_gap_between_reminders:
        wait_until = last + burden.min_gap_between_reminders
        raise CampaignRuleError(
            f"a reminder for {code!r} went out at {last:%Y-%m-%d %H:%M} UTC; to spare people, "
            f"the next can go after {wait_until:%Y-%m-%d %H:%M} UTC"
        )
    manual = sum(1 for kind in kinds if kind.startswith(f"{scheduling.REMIND_PREFIX}now"))
    kind = f"{scheduling.REMIND_PREFIX}now{manual + 1}"
    plan = await reminder_plan(uow, campaign, secret, now, burden)
    if not plan.recipients:
        raise CampaignRuleError(
            f"nobody to remind for {code!r}: everyone invited has answered, opted out, cannot "
            f"be reached or has had this month's prompts ({plan.skipped_count} skipped)"
        )
    queued = await uow.outbox.enqueue(campaign.id, kind, now,
                                      [r.contact_id for r in plan.recipients])
    await uow.audit.record(actor, "campaign.remind", "campaign", code,
                           after={"kind": kind, **plan.summary()})
    return ManualReminder(queued, plan)


async def add_entry_point(
    uow: UnitOfWork, code: str, name: str, label: str | None, actor: str
) -> Campaign:
    """A named way into a campaign (its own link and QR code).

    The label is cleaned by the rule for typed text on one line; one with nothing visible
    is no label.

    Raises:
        CampaignRuleError: unknown campaign, a malformed or taken name, a label longer than
            200 characters.
    """
    check_entry_name(name)
    label = clean_text(label or "", multiline=False) or None
    if label is not None and len(label) > ENTRY_LABEL_MAX:
        raise CampaignRuleError(f"the label is {len(label)} characters; the limit is "
                                f"{ENTRY_LABEL_MAX}")
    campaign = await uow.campaigns.by_code(code)
    if campaign is None:
        raise CampaignRuleError(f"unknown campaign {code!r}")
    if not await uow.entry_points.add(campaign.id, name, label):
        raise CampaignRuleError(f"campaign {code!r} already has an entry point {name!r}")
    await uow.audit.record(actor, "entry_point.create", "campaign", code,
                           after={"entry_point": name, "label": label})
    return campaign
