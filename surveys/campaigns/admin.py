"""Admin use cases shared by the CLI, the demo data and (later) admin chat commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from analysis.statistics import margin_of_error
from storage.ids import BIGINT_MAX, INTEGER_MAX, parse_id
from storage.models import Campaign, CampaignStatus, Person, ResponseStatus, Role, Unit
from surveys.campaigns import operations
from surveys.campaigns.rules import (
    AUDIENCES,
    CampaignRuleError,
    Recurrence,
    Window,
    check_code,
    check_plan,
    check_timezone,
)
from surveys.fieldwork.cadres import NAME_MAX
from surveys.people.units import UnitRow, check_tree
from surveys.questionnaire.loader import survey_checksum
from surveys.questionnaire.schema import Survey
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int


async def import_units(uow: UnitOfWork, rows: Sequence[UnitRow], actor: str) -> ImportSummary:
    """Create or update units from a parsed file, all or nothing.

    The file describes each unit whole: a value left out (population, the centre) is cleared.

    Raises:
        UnitFileError: the tree is broken (cycle, unknown parent, duplicates...).
    """
    existing = await uow.units.parents_by_code()
    ordered = check_tree(rows, existing)
    by_code = {unit.code: unit for unit in await uow.units.all()}
    created = updated = unchanged = 0
    for row in ordered:
        parent = by_code[row.parent] if row.parent else None
        unit = by_code.get(row.code)
        after = {
            "code": row.code, "name": row.name, "type": row.type,
            "parent": row.parent, "population": row.population,
            "latitude": row.latitude, "longitude": row.longitude, "radius_km": row.radius_km,
        }
        if unit is None:
            unit = Unit(code=row.code, name=row.name, type=row.type, population=row.population,
                        parent=parent, latitude=row.latitude, longitude=row.longitude,
                        radius_km=row.radius_km)
            uow.units.add(unit)
            await uow.session.flush()
            by_code[row.code] = unit
            created += 1
            await uow.audit.record(actor, "unit.create", "unit", row.code, after=after)
            continue
        before = {
            "code": unit.code, "name": unit.name, "type": unit.type,
            "parent": existing.get(unit.code), "population": unit.population,
            "latitude": unit.latitude, "longitude": unit.longitude, "radius_km": unit.radius_km,
        }
        if before == after:
            unchanged += 1
            continue
        unit.name, unit.type, unit.population, unit.parent = (
            row.name, row.type, row.population, parent
        )
        unit.latitude, unit.longitude, unit.radius_km = row.latitude, row.longitude, row.radius_km
        updated += 1
        await uow.audit.record(actor, "unit.update", "unit", row.code, before=before, after=after)
    await uow.session.flush()
    return ImportSummary(created, updated, unchanged)


async def create_campaign(
    uow: UnitOfWork,
    *,
    survey: Survey,
    unit_code: str,
    code: str,
    opens_at: datetime,
    closes_at: datetime | None,
    now: datetime,
    actor: str,
    audience: str | None = None,
    timezone: str = "UTC",
    reminders: Sequence[timedelta] = (),
    recurrence: Recurrence | None = None,
    target: int | None = None,
) -> Campaign:
    """Store the survey version and create a campaign that is open from ``opens_at``.

    ``audience`` defaults to the survey's own. ``reminders`` are durations before closing.

    Raises:
        CampaignRuleError: unknown unit, taken or malformed code, times in the wrong order,
            reminders outside the window, an audience the survey is not written for, an
            unknown time zone or a target outside 1 to 2**31 - 1 (the column).
    """
    check_code(code)
    check_timezone(timezone)
    if closes_at is not None and closes_at <= now:
        raise CampaignRuleError(f"the closing time {closes_at:%Y-%m-%d %H:%M} UTC is in the past")
    window = Window(opens_at, closes_at)
    window.check()
    check_plan(window, list(reminders))
    audience = audience or survey.audience
    if audience not in AUDIENCES:
        raise CampaignRuleError(f"audience must be one of {', '.join(AUDIENCES)}")
    if audience != survey.audience:
        raise CampaignRuleError(
            f"the survey {survey.id!r} is written for {survey.audience}, not {audience}"
        )
    if target is not None and not 1 <= target <= INTEGER_MAX:
        raise CampaignRuleError("the target number of responses must be at least 1 and at "
                                f"most {INTEGER_MAX}")
    unit = await uow.units.by_code(unit_code)
    if unit is None:
        raise CampaignRuleError(f"unknown unit {unit_code!r}; import it with `units import`")
    if await uow.campaigns.by_code(code) is not None:
        raise CampaignRuleError(f"campaign code {code!r} is already taken")
    definition = survey.model_dump(mode="json", by_alias=True, exclude_none=True)
    version = await uow.surveys.store(survey.id, survey_checksum(survey), definition)
    status = CampaignStatus.OPEN if opens_at <= now else CampaignStatus.SCHEDULED
    campaign = Campaign(
        code=code, survey=version, unit=unit, status=status, opens_at=opens_at,
        closes_at=closes_at, audience=audience, timezone=timezone,
        reminders=[int(r.total_seconds()) for r in reminders],
        recurrence=str(recurrence) if recurrence else None, target_responses=target,
    )
    uow.campaigns.add(campaign)
    await uow.session.flush()
    await uow.audit.record(
        actor, "campaign.create", "campaign", code,
        after={
            "code": code, "survey": survey.id, "survey_version": version.version,
            "unit": unit_code, "status": status.value, "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat() if closes_at else None,
            "audience": audience, "timezone": timezone, "reminders": campaign.reminders,
            "recurrence": campaign.recurrence, "target": target,
        },
    )
    return campaign


async def grant_role(
    uow: UnitOfWork, *, telegram_user_id: int, role: Role, unit_code: str | None,
    name: str | None, actor: str,
) -> tuple[Person, bool]:
    """Give the Telegram account a role, optionally scoped to a unit's subtree.

    Returns the person and whether the role is new (granting it twice changes nothing).

    The name is cleaned by the rule for typed text on one line; without anything visible
    the account's own label is used.

    Raises:
        CampaignRuleError: the unit does not exist, the name is over 200 characters, or the
            id cannot be a Telegram user's.
    """
    if parse_id(telegram_user_id, BIGINT_MAX) is None:
        raise CampaignRuleError(f"{telegram_user_id} is not a Telegram user id (those are "
                                "positive whole numbers)")
    name = " ".join(clean_text(name or "", multiline=False).split()) or None
    if name is not None and len(name) > NAME_MAX:
        raise CampaignRuleError(f"the name is {len(name)} characters; the limit is {NAME_MAX}")
    unit = None
    if unit_code is not None:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            raise CampaignRuleError(f"unknown unit {unit_code!r}")
    # A private chat's id is the user's id, so the contact can be made before they write.
    contact = await uow.contacts.get_or_create(telegram_user_id, telegram_user_id)
    person = await uow.people.by_contact(contact.id)
    if person is None:
        person = await uow.people.create(name or f"Telegram user {telegram_user_id}", contact)
    granted = await uow.people.grant(person, role, unit)
    if granted is not None:
        await uow.audit.record(
            actor, "role.grant", "person", person.id,
            after={"role": role.value, "unit": unit_code, "name": person.name},
        )
    return person, granted is not None


@dataclass(frozen=True)
class RoleHolder:
    """Someone with roles, as `civicpulse admin list` shows them."""

    person_id: int
    name: str
    telegram_user_id: int | None  # None: a cadre profile whose invite link is not used yet
    roles: tuple[tuple[Role, str | None], ...]  # (role, unit code; None = all units)

    def describe(self) -> str:
        return ", ".join(f"{role.value} for {scope_label(unit)}" for role, unit in self.roles)


def scope_label(unit_code: str | None) -> str:
    return f"unit {unit_code} and below" if unit_code else "all units"


async def role_holders(uow: UnitOfWork, role: Role | None = None) -> list[RoleHolder]:
    """Everyone with a role (or with ``role``), each with every role they hold and its scope."""
    codes = {u.id: u.code for u in await uow.units.all()}
    holders = []
    for person, contact in await uow.people.with_roles():
        held = _held(person, codes)
        if role is None or any(r == role for r, _ in held):
            holders.append(RoleHolder(person.id, person.name,
                                      contact.telegram_user_id if contact is not None else None,
                                      held))
    return holders


def _held(person: Person, codes: dict[int, str]) -> tuple[tuple[Role, str | None], ...]:
    order = list(Role)
    return tuple(sorted(
        ((r.role, codes.get(r.unit_id) if r.unit_id is not None else None) for r in person.roles),
        key=lambda item: (order.index(item[0]), item[1] or "")))


async def revoke_role(
    uow: UnitOfWork, *, telegram_user_id: int, role: Role, unit_code: str | None, actor: str,
) -> RoleHolder:
    """Take a role (with exactly this scope) from the Telegram account; what they still hold.

    Raises:
        CampaignRuleError: the unit does not exist, nobody with this account holds a role, or
            they do not hold this one with this scope (the message says what they do hold).
    """
    unit = None
    if unit_code is not None:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            raise CampaignRuleError(f"unknown unit {unit_code!r}")
    # An id no account can have is nobody's, decided without asking the database.
    known = parse_id(telegram_user_id, BIGINT_MAX)
    person = await uow.people.by_user(known) if known is not None else None
    if person is None or not person.roles:
        raise CampaignRuleError(
            f"nobody with Telegram id {telegram_user_id} has a role (`civicpulse admin list` "
            "shows who has one)")
    before = await _holder(uow, person, telegram_user_id)
    if await uow.people.revoke(person, role, unit.id if unit is not None else None) is None:
        raise CampaignRuleError(
            f"{person.name} (Telegram {telegram_user_id}) is not {role.value} for "
            f"{scope_label(unit_code)}; they are {before.describe()}")
    await uow.audit.record(
        actor, "role.revoke", "person", person.id,
        before={"role": role.value, "unit": unit_code, "name": person.name},
    )
    return await _holder(uow, person, telegram_user_id)


async def _holder(uow: UnitOfWork, person: Person, telegram_user_id: int) -> RoleHolder:
    codes = {u.id: u.code for u in await uow.units.all()}
    return RoleHolder(person.id, person.name, telegram_user_id, _held(person, codes))


async def roles_of(uow: UnitOfWork, telegram_user_id: int) -> frozenset[Role] | None:
    """The roles of the person behind a Telegram account; None for a plain resident."""
    person = await uow.people.by_user(telegram_user_id)
    return frozenset(r.role for r in person.roles) if person is not None else None


async def chat_roles(uow: UnitOfWork) -> dict[int, frozenset[Role]]:
    """The roles of each chat that has (or had) one, for the command menus: an empty set
    means the person's menu goes back to the residents' one."""
    held: dict[int, set[Role]] = {}
    for chat_id, role in await uow.people.chat_roles():
        roles = held.setdefault(chat_id, set())
        if role is not None:
            roles.add(role)
    return {chat_id: frozenset(roles) for chat_id, roles in held.items()}


@dataclass(frozen=True)
class CampaignReport:
    """What an admin sees of a campaign: progress and how much the result can be trusted."""

    campaign: Campaign
    started: int
    completed: int
    margin_of_error: float | None  # at 95%, worst case p = 0.5, corrected for the population
    time_left: timedelta | None
    # Invitations and reminders: "invitations"/"reminders" → status → count.
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)
    entry_points: dict[str | None, int] = field(default_factory=dict)

    def delivery_line(self, group: str) -> str | None:
        """E.g. "120 sent, 30 queued, 2 unreachable" for "invitations"."""
        counts = self.deliveries.get(group)
        if not counts:
            return None
        order = (("sent", "sent"), ("pending", "queued"), ("sending", "sending"),
                 ("failed", "failed"), ("skipped", "dropped"))
        return ", ".join(f"{counts[key]} {word}" for key, word in order if counts.get(key))

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None


async def campaign_reports(
    uow: UnitOfWork, now: datetime, code: str | None = None
) -> list[CampaignReport]:
    """Reports for one campaign (by code) or for all of them.

    Raises:
        CampaignRuleError: an unknown code.
    """
    if code is not None:
        one = await uow.campaigns.by_code(code)
        if one is None:
            raise CampaignRuleError(f"unknown campaign {code!r}")
        campaigns: Sequence[Campaign] = [one]
    else:
        campaigns = await uow.campaigns.all()
    counts = await uow.responses.counts(c.id for c in campaigns)
    reports = []
    for campaign in campaigns:
        by_status = counts[campaign.id]
        completed = by_status.get(ResponseStatus.COMPLETED, 0)
        started = completed + by_status.get(ResponseStatus.IN_PROGRESS, 0)
        left = None
        if campaign.status != CampaignStatus.CLOSED and campaign.closes_at is not None:
            left = max(campaign.closes_at - now, timedelta(0))
        deliveries: dict[str, dict[str, int]] = {}
        entries: dict[str | None, int] = {}
        if code is not None:
            for (kind, status), n in (await uow.outbox.progress(campaign.id)).items():
                group = "invitations" if kind == "invite" else "reminders"
                bucket = deliveries.setdefault(group, {})
                bucket[status.value] = bucket.get(status.value, 0) + n
            entries = await uow.entry_points.response_counts(campaign.id)
        reports.append(
            CampaignReport(
                campaign=campaign,
                started=started,
                completed=completed,
                margin_of_error=margin_of_error(completed, population=campaign.unit.population),
                time_left=left,
                deliveries=deliveries,
                entry_points=entries,
            )
        )
    return reports


async def close_campaign(uow: UnitOfWork, code: str, now: datetime, actor: str) -> Campaign:
    """Close a campaign now: it stops taking answers; what was answered is kept.

    Raises:
        CampaignRuleError: unknown, or already closed.
    """
    found = await uow.campaigns.by_code(code)
    if found is None:
        raise CampaignRuleError(f"unknown campaign {code!r}")
    campaign = await uow.campaigns.lock(found.id)
    assert campaign is not None
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignRuleError(f"campaign {code!r} is already closed")
    await operations.close(uow, campaign, now, actor)
    return campaign
