"""Cadre profiles and their one-time invite links.

A profile is a person (name, position) with the cadre role scoped to one or more units, and
the key tasks they answer for. An admin (``civicpulse cadre invite`` or ``/invite``) gets a
one-time deep link, ``t.me/<bot>?start=cadre-<token>``; opening it ties the Telegram account
to the profile. Only the SHA-256 of the token is stored, so the database cannot give a link
away; a newer link for the same profile stops the older unused ones.

Use cases take a unit of work and run inside the caller's transaction; what the caller may
not do is raised as :class:`CadreError`, whose ``key`` names the text to show in chat and
whose message is the one line the command line prints. Nothing here knows Telegram.
"""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from storage.ids import parse_id, shown_id
from storage.models import CadreInvite, KeyTask, Person, Role
from storage.units import UnitLike
from surveys.appraisal.periods import Period
from surveys.campaigns.rules import deep_link
from surveys.people.access import UnitTree
from surveys.people.roles import NAME_MAX
from surveys.questionnaire.answers import from_row
from surveys.questionnaire.schema import QUESTION_ID_PATTERN, Survey
from surveys.text import clean_text, spreadsheet_cell

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The start payload of an invite link. Campaign codes may not begin with it (check_code), and
# a payload that does is never looked up as a campaign.
CADRE_PREFIX = "cadre-"
# secrets.token_urlsafe(32): 32 random bytes, 43 characters of A-Za-z0-9_-.
TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
POSITION_MAX = 200
TASK_MAX = 120
TASKS_MAX = 12  # key tasks are few by design: a long list is a report, not a focus
MAX_VALID_DAYS = 90
_INDICATOR = re.compile(QUESTION_ID_PATTERN)
_SEPARATORS = re.compile(r"[;；]")
_TASK_SEPARATORS = re.compile(r"[,，、]")


class CadreError(ValueError):
    """A request about a cadre that breaks a rule. ``key`` names the chat text; the message
    is the command line's one line."""

    def __init__(self, key: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


# --- pure checks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileDraft:
    """A checked request for a new profile."""

    name: str
    position: str
    unit_codes: tuple[str, ...]
    tasks: tuple[str, ...] = ()
    name_zh: str | None = None  # the name in Chinese (surveys.people.names), if given


def _clean(text: str | None) -> str:
    # The rule for typed text (control characters out, NFC, nothing visible is nothing),
    # on one line with single spaces: names and titles are shown in lists and buttons.
    return " ".join(clean_text(text or "", multiline=False).split())


def check_task(title: str) -> str:
    cleaned = _clean(title)
    if not cleaned:
        raise CadreError("empty_task", "a key task needs a title")
    if len(cleaned) > TASK_MAX:
        raise CadreError("task_too_long",
                         f"key task {cleaned[:30]!r}… is {len(cleaned)} characters; the limit "
                         f"is {TASK_MAX}", length=len(cleaned), limit=TASK_MAX)
    return cleaned


def check_name_zh(name_zh: str | None) -> str | None:
    """A Chinese name as given (None or blank: none).

    Raises:
        CadreError: longer than the name may be.
    """
    cleaned = _clean(name_zh)
    if len(cleaned) > NAME_MAX:
        raise CadreError("name_too_long", f"the Chinese name is longer than {NAME_MAX} "
                         "characters", limit=NAME_MAX)
    return cleaned or None


def check_profile(name: str | None, position: str | None, unit_codes: Iterable[str],
                  tasks: Iterable[str] = (), name_zh: str | None = None) -> ProfileDraft:
    """Check a profile request before anything is looked up.

    Raises:
        CadreError: an empty or overlong name, position or task, no unit, repeated tasks.
    """
    cleaned_name, cleaned_position = _clean(name), _clean(position)
    if not cleaned_name:
        raise CadreError("empty_name", "the cadre's name is empty")
    if len(cleaned_name) > NAME_MAX:
        raise CadreError("name_too_long", f"the name is longer than {NAME_MAX} characters",
                         limit=NAME_MAX)
    cleaned_zh = check_name_zh(name_zh)
    if not cleaned_position:
        raise CadreError("empty_position", "the cadre's position is empty (e.g. Village head)")
    if len(cleaned_position) > POSITION_MAX:
        raise CadreError("position_too_long",
                         f"the position is longer than {POSITION_MAX} characters",
                         limit=POSITION_MAX)
    codes = tuple(dict.fromkeys(c.strip() for c in unit_codes if c.strip()))
    if not codes:
        raise CadreError("no_unit", "a cadre needs at least one unit (--unit CODE)")
    titles: list[str] = []
    for task in tasks:
        title = check_task(task)
        if title.casefold() in (t.casefold() for t in titles):
            raise CadreError("duplicate_task", f"the key task {title!r} is listed twice",
                             title=title)
        titles.append(title)
    if len(titles) > TASKS_MAX:
        raise CadreError("too_many_tasks", f"at most {TASKS_MAX} key tasks per cadre",
                         limit=TASKS_MAX)
    return ProfileDraft(cleaned_name, cleaned_position, codes, tuple(titles), cleaned_zh)


def parse_invite_request(text: str) -> ProfileDraft:
    """The arguments of ``/invite UNIT Name; Position; task one, task two``.

    ``UNIT`` may list several codes separated by commas; Chinese punctuation (；，、) works
    as well as ASCII.

    Raises:
        CadreError: as :func:`check_profile`.
    """
    head, rest = [*text.split(maxsplit=1), "", ""][:2]
    parts = [_clean(part) for part in _SEPARATORS.split(rest)]
    name = parts[0] if parts else ""
    position = parts[1] if len(parts) > 1 else ""
    tasks = [t for part in parts[2:] for t in _TASK_SEPARATORS.split(part) if t.strip()]
    return check_profile(name, position, _TASK_SEPARATORS.split(head), tasks)


def check_indicator(indicator: str | None) -> str | None:
    if indicator is None:
        return None
    if not _INDICATOR.fullmatch(indicator):
        raise CadreError("bad_indicator",
                         f"indicator {indicator!r} must be 1-32 lowercase letters, digits or _ "
                         "starting with a letter (e.g. road_maintenance)", indicator=indicator)
    return indicator


def check_valid_for(days: int | None, default: timedelta) -> timedelta:
    if days is None:
        return default
    if not 1 <= days <= MAX_VALID_DAYS:
        raise CadreError("bad_valid_days",
                         f"a link can be valid for 1 to {MAX_VALID_DAYS} days, not {days}")
    return timedelta(days=days)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def invite_payload(token: str) -> str:
    return f"{CADRE_PREFIX}{token}"


def invite_link(bot_username: str, token: str) -> str:
    return deep_link(bot_username, invite_payload(token))


def is_invite_payload(payload: str | None) -> bool:
    return payload is not None and payload.strip().startswith(CADRE_PREFIX)


# --- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    name_zh: str | None = None  # shown through surveys.people.names


@dataclass(frozen=True)
class TaskRef:
    id: int
    title: str
    indicator: str | None


# Link states, newest link first: a linked profile may also have a new link pending (the
# cadre changed phones).
LINKED, PENDING, EXPIRED, USED, REVOKED, NO_LINK = (
    "linked", "pending", "expired", "used", "revoked", "none")


@dataclass(frozen=True)
class LinkStatus:
    linked: bool
    latest: str  # pending, expired, used, revoked or none: the newest link's state
    at: datetime | None = None  # until when pending, since when expired, when used

    @property
    def summary(self) -> str:
        """One English line for the command line."""
        at = f"{self.at:%Y-%m-%d %H:%M} UTC" if self.at is not None else "?"
        link = {
            PENDING: f"link pending until {at}",
            EXPIRED: f"link expired {at}",
            USED: "link used",
            REVOKED: "link revoked",
            NO_LINK: "no link",
        }[self.latest]
        if not self.linked:
            return link
        return "linked" + (f"; new {link}" if self.latest in (PENDING, EXPIRED) else "")


@dataclass(frozen=True)
class Profile:
    person_id: int
    name: str
    position: str | None
    units: tuple[UnitRef, ...]
    tasks: tuple[TaskRef, ...]
    link: LinkStatus
    name_zh: str | None = None  # shown through surveys.people.names


def link_status(person: Person, invite: CadreInvite | None, now: datetime) -> LinkStatus:
    linked = person.contact_id is not None
    if invite is None:
        return LinkStatus(linked, NO_LINK)
    if invite.used_at is not None:
        return LinkStatus(linked, USED, invite.used_at)
    if invite.revoked_at is not None:
        return LinkStatus(linked, REVOKED, invite.revoked_at)
    if now >= invite.expires_at:
        return LinkStatus(linked, EXPIRED, invite.expires_at)
    return LinkStatus(linked, PENDING, invite.expires_at)


def _cadre_units(person: Person, tree: UnitTree) -> tuple[UnitRef, ...]:
    ids = sorted({r.unit_id for r in person.roles
                  if r.role == Role.CADRE and r.unit_id is not None and r.unit_id in tree.by_id},
                 key=lambda i: tree.by_id[i].code)
    return tuple(UnitRef(i, tree.by_id[i].code, tree.by_id[i].name, tree.by_id[i].name_zh)
                 for i in ids)


def _tasks(tasks: Sequence[KeyTask]) -> tuple[TaskRef, ...]:
    return tuple(TaskRef(t.id, t.title, t.indicator) for t in tasks)


@dataclass(frozen=True)
class ProfileRows:
    """What profiles are made of, as read: the people (with their roles), each one's active
    key tasks and newest link. Whether a link has expired is a matter of when it is asked,
    so these can be kept and made into profiles later (:func:`made_profiles`)."""

    people: tuple[Person, ...] = ()
    tasks: dict[int, list[KeyTask]] = field(default_factory=dict)
    latest: dict[int, CadreInvite] = field(default_factory=dict)


async def read_profiles(uow: UnitOfWork, people: Sequence[Person]) -> ProfileRows:
    """The key tasks and newest links of ``people`` (read with their roles): two statements,
    whatever their number."""
    if not people:
        return ProfileRows()
    ids = [p.id for p in people]
    return ProfileRows(tuple(people), await uow.cadres.tasks(ids),
                       await uow.invites.latest(ids))


def made_profiles(rows: ProfileRows, now: datetime, tree: UnitTree) -> list[Profile]:
    return [
        Profile(p.id, p.name, p.position, _cadre_units(p, tree),
                _tasks(rows.tasks.get(p.id, [])), link_status(p, rows.latest.get(p.id), now),
                p.name_zh)
        for p in rows.people
    ]


def links_hold(rows: ProfileRows, now: datetime) -> tuple[datetime | None, datetime | None]:
    """When around ``now`` every link of ``rows`` is in the state it is in at ``now``: from
    the last open link to expire at or before it (None: ever since) to the next to expire
    after it (None: for good). Only an open link's state changes with time alone."""
    since: datetime | None = None
    until: datetime | None = None
    for invite in rows.latest.values():
        if invite.used_at is not None or invite.revoked_at is not None:
            continue
        at = invite.expires_at
        if at <= now:
            since = at if since is None else max(since, at)
        else:
            until = at if until is None else min(until, at)
    return since, until


async def profiles_of(uow: UnitOfWork, people: Sequence[Person], now: datetime,
                      tree: UnitTree) -> list[Profile]:
    """The profiles of ``people`` (read with their roles)."""
    return made_profiles(await read_profiles(uow, people), now, tree)


async def profile(uow: UnitOfWork, person_id: int, now: datetime) -> Profile:
    """One cadre's profile.

    Raises:
        CadreError: no such person, or not a cadre.
    """
    person = await _cadre(uow, person_id)
    [found] = await profiles_of(uow, [person], now, await UnitTree.load(uow))
    return found


async def list_profiles(uow: UnitOfWork, now: datetime,
                        unit_code: str | None = None) -> list[Profile]:
    """Cadre profiles (of ``unit_code`` and the units below it, if given), by name.

    Raises:
        CadreError: an unknown unit.
    """
    tree = await UnitTree.load(uow)
    unit_ids: set[int] | None = None
    if unit_code is not None:
        unit = tree.by_code.get(unit_code)
        if unit is None:
            raise CadreError("unknown_unit", f"unknown unit {unit_code!r}", unit=unit_code)
        unit_ids = tree.subtree(unit.id)
    return await profiles_of(uow, await uow.cadres.all(unit_ids), now, tree)


# --- creating profiles and links ------------------------------------------------------------

# Whether the acting admin may act for a unit (None: anyone, e.g. the command line).
Scope = Callable[[UnitTree, int], bool] | None


@dataclass(frozen=True)
class IssuedInvite:
    """A new link, shown once: only its hash is kept."""

    profile: Profile
    token: str = field(repr=False)
    expires_at: datetime
    new_profile: bool

    @property
    def payload(self) -> str:
        return invite_payload(self.token)


def _units(tree: UnitTree, codes: Iterable[str], scope: Scope) -> list[UnitLike]:
    units: list[UnitLike] = []
    for code in codes:
        unit = tree.by_code.get(code)
        if unit is None:
            raise CadreError("unknown_unit", f"unknown unit {code!r}", unit=code)
        if scope is not None and not scope(tree, unit.id):
            raise CadreError("out_of_scope", f"unit {code!r} is outside your scope", unit=code)
        units.append(unit)
    return units


async def create_profile(
    uow: UnitOfWork, draft: ProfileDraft, *, actor: str, now: datetime, valid_for: timedelta,
    scope: Scope = None,
) -> IssuedInvite:
    """Create the profile (the cadre role on each unit, the key tasks) and its first link.

    Raises:
        CadreError: an unknown unit, or one outside ``scope``.
    """
    tree = await UnitTree.load(uow)
    units = _units(tree, draft.unit_codes, scope)
    person = await uow.cadres.create(draft.name, draft.position)
    person.name_zh = draft.name_zh
    for unit in units:
        await uow.people.grant(person, Role.CADRE, unit)
    for title in draft.tasks:
        await uow.cadres.add_task(person.id, title, None)
    await uow.audit.record(actor, "cadre.create", "person", person.id, after={
        "name": draft.name, "name_zh": draft.name_zh, "position": draft.position,
        "units": [u.code for u in units], "tasks": list(draft.tasks),
    })
    return await _issue(uow, person, actor=actor, now=now, valid_for=valid_for, tree=tree,
                        new_profile=True)


async def _cadre(uow: UnitOfWork, person_id: int) -> Person:
    known = parse_id(person_id)
    person = await uow.cadres.get(known) if known is not None else None
    if person is None:
        raise CadreError("unknown_person", f"no profile with id {shown_id(person_id)}",
                         person_id=shown_id(person_id))
    if not any(r.role == Role.CADRE for r in person.roles):
        raise CadreError("not_a_cadre", f"person {person_id} ({person.name}) is not a cadre",
                         person_id=person_id, name=person.name)
    return person


async def issue_invite(
    uow: UnitOfWork, person_id: int, *, actor: str, now: datetime, valid_for: timedelta,
    scope: Scope = None,
) -> IssuedInvite:
    """A fresh link for an existing profile; its earlier unused links stop working.

    Raises:
        CadreError: no such cadre, or one of their units is outside ``scope``.
    """
    person = await _cadre(uow, person_id)
    tree = await UnitTree.load(uow)
    if scope is not None:
        others = sorted({r.role.value for r in person.roles if r.role != Role.CADRE})
        if others:
            # A link moves the profile to whichever account opens it, roles and all: from
            # chat, a scoped admin could otherwise take over an admin's or inspector's account.
            raise CadreError("has_other_roles",
                             f"{person.name} also holds the {', '.join(others)} role; only "
                             "the command line can issue a link for this profile",
                             person_id=person.id, name=person.name, roles=", ".join(others))
        for unit in _cadre_units(person, tree):
            if not scope(tree, unit.id):
                raise CadreError("out_of_scope", f"unit {unit.code!r} is outside your scope",
                                 unit=unit.code)
    return await _issue(uow, person, actor=actor, now=now, valid_for=valid_for, tree=tree,
                        new_profile=False)


async def _issue(uow: UnitOfWork, person: Person, *, actor: str, now: datetime,
                 valid_for: timedelta, tree: UnitTree, new_profile: bool) -> IssuedInvite:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + valid_for
    invite = await uow.invites.create(person.id, hash_token(token), now, expires_at, actor)
    # The token is never logged: whoever reads the audit trail must not be able to use it.
    await uow.audit.record(actor, "cadre.invite", "person", person.id, after={
        "invite": invite.id, "expires_at": expires_at.isoformat(),
    })
    [shown] = await profiles_of(uow, [person], now, tree)
    return IssuedInvite(shown, token, expires_at, new_profile)


async def set_name_zh(uow: UnitOfWork, person_id: int, name_zh: str | None, *, actor: str,
                      now: datetime) -> Profile:
    """Give a cadre's profile its Chinese name, or take it away (None or blank); audited.

    Raises:
        CadreError: no such cadre, a name too long.
    """
    person = await _cadre(uow, person_id)
    cleaned = check_name_zh(name_zh)
    if cleaned != person.name_zh:
        await uow.audit.record(actor, "cadre.update", "person", person.id,
                               before={"name_zh": person.name_zh}, after={"name_zh": cleaned})
        person.name_zh = cleaned
    [shown] = await profiles_of(uow, [person], now, await UnitTree.load(uow))
    return shown


async def add_task(uow: UnitOfWork, person_id: int, title: str, indicator: str | None, *,
                   actor: str) -> KeyTask:
    """A new key task for a cadre (audited).

    Raises:
        CadreError: no such cadre, an empty, overlong or repeated title, a bad indicator.
    """
    person = await _cadre(uow, person_id)
    cleaned, indicator = check_task(title), check_indicator(indicator)
    existing = (await uow.cadres.tasks([person.id], active_only=False)).get(person.id, [])
    if any(t.title.casefold() == cleaned.casefold() for t in existing):
        raise CadreError("duplicate_task", f"{person.name} already has the key task {cleaned!r}",
                         title=cleaned)
    if sum(t.active for t in existing) >= TASKS_MAX:
        raise CadreError("too_many_tasks", f"at most {TASKS_MAX} key tasks per cadre",
                         limit=TASKS_MAX)
    task = await uow.cadres.add_task(person.id, cleaned, indicator)
    await uow.audit.record(actor, "cadre.task.add", "key_task", task.id, after={
        "person": person.id, "title": cleaned, "indicator": indicator,
    })
    return task


# --- redeeming a link -----------------------------------------------------------------------

# What opening a link did. Only LINKED changes anything.
LINKED_NOW, ALREADY_LINKED = "linked", "already_linked"
INVALID, USED_LINK, EXPIRED_LINK, REVOKED_LINK, TAKEN = (
    "invalid", "used", "expired", "revoked", "taken")


@dataclass(frozen=True)
class Redemption:
    outcome: str
    profile: Profile | None = None  # for linked and already_linked
    expired_at: datetime | None = None


async def redeem_invite(uow: UnitOfWork, telegram_user_id: int, chat_id: int, payload: str,
                        now: datetime) -> Redemption:
    """``/start cadre-<token>``: tie the Telegram account to the link's profile, once.

    Every outcome but ``linked`` changes nothing at all (not even a contact row for a
    stranger). The invite row is locked, so two accounts opening the same link at the same
    moment cannot both win: the second sees it used.
    """
    token = payload.strip().removeprefix(CADRE_PREFIX)
    if not TOKEN_PATTERN.fullmatch(token):
        return Redemption(INVALID)
    invite = await uow.invites.by_hash(hash_token(token), lock=True)
    if invite is None:
        return Redemption(INVALID)
    person = await uow.cadres.get(invite.person_id)
    if person is None or not any(r.role == Role.CADRE for r in person.roles):
        return Redemption(REVOKED_LINK)  # the profile is no longer a cadre's
    contact = await uow.contacts.by_user(telegram_user_id)
    owner = await uow.people.by_contact(contact.id) if contact is not None else None
    if owner is not None and owner.id == invite.person_id:
        # Already this cadre's account (this link or an earlier one): a friendly reminder.
        return Redemption(ALREADY_LINKED, await profile(uow, owner.id, now))
    if invite.used_at is not None:
        return Redemption(USED_LINK)
    if invite.revoked_at is not None:
        return Redemption(REVOKED_LINK)
    if now >= invite.expires_at:
        return Redemption(EXPIRED_LINK, expired_at=invite.expires_at)
    if owner is not None:
        # The account is someone else's (an admin, another cadre): one account, one person.
        return Redemption(TAKEN)
    contact = await uow.contacts.get_or_create(telegram_user_id, chat_id)
    previous = person.contact_id  # set when the cadre moves to a new account
    person.contact_id = contact.id
    invite.used_at = now
    invite.used_by_contact_id = contact.id
    await uow.audit.record(f"person:{person.id}", "cadre.link", "person", person.id,
                           before={"contact": previous},
                           after={"contact": contact.id, "invite": invite.id})
    return Redemption(LINKED_NOW, await profile(uow, person.id, now))


# --- self-assessment export -----------------------------------------------------------------

EXPORT_HEADER = ("person_id", "name", "unit", "campaign", "question_id", "indicator", "value",
                 "completed_at")


def _value(value: object) -> object:
    # Numbers stay numbers (a negative one too); text goes through spreadsheet_cell below.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


async def export_self_assessments(uow: UnitOfWork, period: Period, out: TextIO) -> int:
    """Write one CSV row per answer of the completed self-assessments whose campaign opened
    in ``period``; return how many self-assessments there were.

    ``unit`` is the cadre's unit(s) within the campaign's area (the campaign's unit if the
    cadre has since left it).
    """
    responses = await uow.cadres.self_assessments(period.start, period.end)
    tree = await UnitTree.load(uow)
    people = await uow.cadres.people({r.person_id for r in responses if r.person_id})
    surveys: dict[int, Survey] = {}
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for response in responses:
        assert response.person_id is not None
        if response.survey_id not in surveys:
            version = await uow.surveys.get(response.survey_id)
            assert version is not None  # a foreign key guarantees it
            surveys[response.survey_id] = Survey.model_validate(version.definition)
        survey = surveys[response.survey_id]
        campaign = response.campaign
        person = people[response.person_id]
        area = tree.subtree(campaign.unit_id)
        units = [u.code for u in _cadre_units(person, tree) if u.id in area] or [
            campaign.unit.code]
        completed = response.completed_at.isoformat(timespec="seconds") if (
            response.completed_at) else ""
        by_question = {a.question_id: a for a in response.answers}
        for question in survey.questions:
            answer = by_question.get(question.id)
            if answer is None:
                continue  # not shown (a follow-up whose condition did not hold)
            row = [person.id, person.name, ";".join(units), campaign.code, question.id,
                   question.indicator or "", _value(from_row(question, answer)), completed]
            # A name or an answer starting "=" must not run in the admin's spreadsheet.
            writer.writerow([spreadsheet_cell(cell) for cell in row])
    return len(responses)
