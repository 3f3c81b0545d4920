"""Publishing a period's appraisal, under four eyes.

With ``appraisal.publish_requires_approval`` (the default), publishing a draft is a request:
an admin for all units asks (``civicpulse appraisal publish``, or the dashboard's
/audit/drafts), and the publication takes effect when a second person, an auditor for all
units, approves it (``civicpulse appraisal approve``, /approve in chat, the dashboard's
/audit/approvals). Nobody approves a request of their own or a version they computed. An
auditor may refuse a request instead, saying why; the draft stays a draft and can be asked
for again. With approval off, publishing takes effect at once.

Every step is in the hash-chained audit log, and a publication records the log's head (the
hash of its own event and the number of events): `civicpulse audit verify` checks the chain
against every recorded head, so deleting the newest events, or all of them, is seen.

People are named by their Telegram account, the identity the chat, the command line
(``--by``) and the dashboard's sign-in share; the audit log names them ``person:<id>``.
Refusals are :class:`PublicationRefused`: an English message for the command line, and a
text key with its parameters for the chat and the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from analysis.appraisal import results_hash
from storage.ids import BIGINT_MAX, parse_id
from storage.models import (
    AppraisalRun,
    AppraisalStatus,
    PublicationRequest,
    PublicationStatus,
    Role,
)
from surveys.appraisal.periods import parse_period
from surveys.appraisal.run import AppraisalError, stored_row
from surveys.people.access import Actor
from surveys.people.caller import Caller, Refused, acting_as, language
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import Database, UnitOfWork

MAX_REFUSAL_REASON = 300
# Who publishes without a person named (the command line with approval off, the demo).
ANONYMOUS = "cli"


class PublicationRefused(AppraisalError):
    """The rules refuse this step; ``key`` names the chat's text (``approve.<key>``)."""

    def __init__(self, key: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


@dataclass(frozen=True)
class Published:
    """A version now published, and the one it superseded (if any)."""

    run: AppraisalRun
    superseded: int | None


@dataclass(frozen=True)
class Requested:
    """A version that awaits an auditor's approval, and who may give it: the chat ids and
    languages of the auditors for all units who neither asked nor computed it."""

    run: AppraisalRun
    request: PublicationRequest
    auditors: tuple[tuple[int, str | None], ...]


@dataclass(frozen=True)
class Awaiting:
    """A publication awaiting approval, as an auditor is shown it."""

    request_id: int
    period: str
    version: int
    results_hash: str
    summary: Mapping[str, object]
    requested_by: str  # the requester's name
    requested_at: datetime
    computed_by: str
    own: bool  # the one asking is the requester or computed it: they may not approve it


# --- who is acting ----------------------------------------------------------------------------


async def _person(uow: UnitOfWork, telegram_user_id: int, role: Role, key: str,
                  what: str) -> Actor:
    """The person behind the account, if they hold ``role`` for all units."""
    known = parse_id(telegram_user_id, BIGINT_MAX)
    person = await uow.people.by_user(known) if known is not None else None
    actor = Actor.of(person) if person is not None else None
    if actor is None or not holds_everywhere(actor, role):
        who = f"{actor.name} (Telegram {telegram_user_id})" if actor else (
            f"Telegram {telegram_user_id}")
        raise PublicationRefused(
            key, f"{who} is not {role.value} for all units, so cannot {what} (`civicpulse "
            f"admin list --role {role.value}` shows who is)")
    return actor


async def _auditors(uow: UnitOfWork, *but: str) -> tuple[tuple[int, str | None], ...]:
    """The chats of the auditors for all units who may approve, all but ``but`` (audit-log
    labels: whoever asked for the publication and computed the version)."""
    found = []
    for person, contact in await uow.people.with_roles():
        if contact is None or Actor.of(person).label in but:
            continue
        if any(r.role == Role.AUDITOR and r.unit_id is None for r in person.roles):
            found.append((contact.chat_id, contact.language))
    return tuple(found)


async def names(uow: UnitOfWork, labels: Sequence[str | None]) -> dict[str, str]:
    """Audit-log labels (``person:<id>``) as people's names; other labels as they are."""
    shown = {label: label for label in labels if label is not None}
    people = {label: int(number) for label in shown
              for kind, _, number in [label.partition(":")]
              if kind == "person" and number.isascii() and number.isdigit()}
    found = await uow.people.names(people.values()) if people else {}
    for label, person_id in people.items():
        if person_id in found:
            shown[label] = found[person_id]
    return shown


# --- the rules ------------------------------------------------------------------------------


def holds_everywhere(actor: Actor | None, role: Role) -> bool:
    """Whether the person holds ``role`` for all units: a publication covers every unit, so a
    role scoped to one township cannot ask for it or vouch for it."""
    return actor is not None and (role, None) in actor.grants


def own_part(approver: str, requested_by: str, computed_by: str) -> str | None:
    """What the approver did to the version themselves ("asked for", "computed"), which
    bars them from approving it; None if neither (audit-log labels)."""
    if approver == requested_by:
        return "asked for"
    if approver == computed_by:
        return "computed"
    return None


# --- choosing the version ---------------------------------------------------------------------


def chosen_draft(runs: Sequence[AppraisalRun], period: str, version: int | None) -> AppraisalRun:
    """The period's latest run (or ``version``); it must be a draft."""
    if not runs:
        raise PublicationRefused("no_run", f"no appraisal has been computed for {period}; run "
                                 f"`civicpulse appraisal run --period {period}` first",
                                 period=period)
    if version is None:
        chosen = runs[-1]
        if chosen.status != AppraisalStatus.DRAFT:
            raise PublicationRefused(
                "not_draft", f"nothing new to publish for {period} (version {chosen.version} "
                f"is {chosen.status.value}); a new `appraisal run` makes a new version",
                period=period, version=chosen.version, status=chosen.status.value)
        return chosen
    found = [r for r in runs if r.version == version]
    if not found:
        raise PublicationRefused(
            "no_version", f"{period} has no version {version} (versions: "
            f"{', '.join(str(r.version) for r in runs)})", period=period, version=version)
    chosen = found[0]
    if chosen.status != AppraisalStatus.DRAFT:
        raise PublicationRefused(
            "not_draft", f"version {version} of {period} is {chosen.status.value}; only a "
            "draft can be published", period=period, version=version,
            status=chosen.status.value)
    return chosen


async def _check_intact(uow: UnitOfWork, run: AppraisalRun) -> None:
    results = await uow.appraisal.results(run.id)
    if results_hash([stored_row(r) for r in results]) != run.results_hash:
        raise PublicationRefused(
            "altered", f"version {run.version} of {run.period} no longer matches the hash "
            "recorded when it was computed; it was changed and will not be published (see "
            f"civicpulse audit show appraisal_run {run.id})", period=run.period,
            version=run.version)


async def _publish(uow: UnitOfWork, runs: Sequence[AppraisalRun], chosen: AppraisalRun,
                   published_by: str, approved_by: str | None) -> Published:
    """Publish ``chosen`` (checked): the others settle, pending requests for them lapse, and
    the run records the audit log's head, its own publication event included."""
    await _check_intact(uow, chosen)
    now = uow.clock()
    superseded = None
    for r in runs:
        if r.status == AppraisalStatus.PUBLISHED:
            superseded = r.version
        # Earlier drafts are settled too: only the published version is current.
        if r.id != chosen.id and r.status != AppraisalStatus.SUPERSEDED:
            await uow.appraisal.set_status(r.id, AppraisalStatus.SUPERSEDED)
    # Requests still waiting lapse: the other versions' (superseded now), and this one's own
    # when it is published without approval (the switch was turned off meanwhile).
    for request in await uow.appraisal.requests([r.id for r in runs],
                                                PublicationStatus.PENDING):
        request.status, request.decided_at = PublicationStatus.LAPSED, now
    actor = approved_by or published_by
    await uow.audit.record(actor, "appraisal.publish", "appraisal_run", chosen.id,
                           before={"status": "draft", "superseded_version": superseded},
                           after={"status": "published", "period": chosen.period,
                                  "version": chosen.version, "results_hash": chosen.results_hash,
                                  "requested_by": published_by, "approved_by": approved_by})
    head, events = await uow.audit.head()
    await uow.appraisal.set_status(chosen.id, AppraisalStatus.PUBLISHED, published_at=now,
                                   published_by=published_by, approved_by=approved_by,
                                   audit_head_hash=head, audit_head_events=events)
    await uow.session.refresh(chosen)
    return Published(chosen, superseded)


# --- the use cases ----------------------------------------------------------------------------


async def publish(db: Database, period_label: str, *, by: int | None, requires_approval: bool,
                  version: int | None = None, label: str = ANONYMOUS) -> Published | Requested:
    """Publish the period's latest draft (or ``version``), or, when ``requires_approval``,
    ask for it to be published: it then awaits an auditor's approval (:class:`Requested`
    says whom to tell, after the commit).

    Args:
        by: The Telegram account of the person publishing, an admin for all units; needed
            when approval is required (the approver must be someone else). None: ``label``
            names who publishes in the audit log.

    Raises:
        PublicationRefused: no such draft, it was altered, the person is not an admin for
            all units, or a version of the period already awaits approval.
    """
    async with db.transaction() as uow:
        return await publish_in(uow, period_label, by=by, requires_approval=requires_approval,
                                version=version, label=label)


async def publish_in(uow: UnitOfWork, period_label: str, *, by: int | None,
                     requires_approval: bool, version: int | None = None,
                     label: str = ANONYMOUS) -> Published | Requested:
    """:func:`publish` within the caller's transaction."""
    period = parse_period(period_label)
    actor = None
    if by is not None:
        actor = await _person(uow, by, Role.ADMIN, "not_admin", "publish an appraisal")
    elif requires_approval:
        raise PublicationRefused(
            "who", "publishing needs an auditor's approval, so say who asks for it: "
            "--by with your Telegram id (an admin for all units)")
    runs = list(await uow.appraisal.lock_runs(period.label))
    chosen = chosen_draft(runs, period.label, version)
    requester = actor.label if actor is not None else label
    if not requires_approval:
        return await _publish(uow, runs, chosen, requester, None)
    for pending in await uow.appraisal.requests([r.id for r in runs],
                                                PublicationStatus.PENDING):
        waiting = next(r for r in runs if r.id == pending.run_id)
        raise PublicationRefused(
            "already_pending", f"version {waiting.version} of {period.label} already "
            f"awaits an auditor's approval (asked {pending.requested_at:%Y-%m-%d %H:%M} "
            "UTC); an auditor approves or refuses it first (civicpulse appraisal approve "
            "or refuse)", period=period.label, version=waiting.version)
    await _check_intact(uow, chosen)
    request = await uow.appraisal.add_request(PublicationRequest(
        run_id=chosen.id, status=PublicationStatus.PENDING, requested_by=requester,
        requested_at=uow.clock()))
    await uow.audit.record(requester, "appraisal.publish_request", "appraisal_run",
                           chosen.id, after={"period": period.label,
                                             "version": chosen.version,
                                             "results_hash": chosen.results_hash,
                                             "request": request.id})
    return Requested(chosen, request, await _auditors(uow, requester, chosen.computed_by))


async def _pending(uow: UnitOfWork, period: str | None, version: int | None,
                   request_id: int | None = None
                   ) -> tuple[list[AppraisalRun], AppraisalRun, PublicationRequest]:
    """The period's runs (locked), and the version awaiting approval with its request. With
    ``request_id`` (a chat button's) it must be that request, still pending."""
    if request_id is not None:
        # An id no request can have (a forged button) is nobody's, unasked.
        known = parse_id(request_id)
        asked = await uow.appraisal.get_request(known) if known is not None else None
        run_of = await uow.appraisal.get_run(asked.run_id) if asked is not None else None
        if run_of is None:
            raise PublicationRefused("nothing_pending", "no such publication request")
        period = run_of.period
    assert period is not None
    runs = list(await uow.appraisal.lock_runs(period))
    pending = list(await uow.appraisal.requests([r.id for r in runs],
                                                PublicationStatus.PENDING))
    if request_id is not None:
        pending = [p for p in pending if p.id == request_id]
    if version is not None:
        if not any(r.version == version for r in runs):
            chosen_draft(runs, period, version)  # says which versions there are
        run = next(r for r in runs if r.version == version)
        if run.status != AppraisalStatus.DRAFT:
            raise PublicationRefused(
                "not_draft", f"version {version} of {period} is {run.status.value}; there "
                "is nothing to approve", period=period, version=version,
                status=run.status.value)
        pending = [p for p in pending if p.run_id == run.id]
    if not pending:
        which = f"version {version} of {period}" if version is not None else period
        raise PublicationRefused(
            "nothing_pending", f"nothing awaits approval for {which} (`civicpulse appraisal "
            "publish` asks for it)", period=period)
    request = pending[-1]
    return runs, next(r for r in runs if r.id == request.run_id), request


async def approve_publication(db: Database, period_label: str, *, by: int,
                              version: int | None = None) -> Published:
    """Approve the period's publication awaiting approval (of ``version``, if given): it is
    published now.

    Raises:
        PublicationRefused: ``by`` is not an auditor for all units, asked for this
            publication or computed the version; nothing awaits approval; the version is
            no longer a draft, or was altered.
    """
    async with db.transaction() as uow:
        return await approve_in(uow, parse_period(period_label).label, by=by, version=version)


async def approve_in(uow: UnitOfWork, period: str | None, *, by: int,
                     version: int | None = None, request_id: int | None = None) -> Published:
    """:func:`approve_publication` within the caller's transaction; ``request_id`` instead
    of the period names the request (a tap on a button)."""
    auditor = await _person(uow, by, Role.AUDITOR, "not_auditor", "approve a publication")
    runs, run, request = await _pending(uow, period, version, request_id)
    own = own_part(auditor.label, request.requested_by, run.computed_by)
    if own is not None:
        raise PublicationRefused(
            "own", f"{auditor.name} {own} version {run.version} of {run.period}, so cannot "
            "approve it: another auditor must (four eyes)", period=run.period,
            version=run.version)
    request.status, request.decided_by, request.decided_at = (
        PublicationStatus.APPROVED, auditor.label, uow.clock())
    await uow.audit.record(auditor.label, "appraisal.approve", "appraisal_run", run.id,
                           before={"status": "draft", "requested_by": request.requested_by},
                           after={"period": run.period, "version": run.version,
                                  "results_hash": run.results_hash, "request": request.id})
    return await _publish(uow, runs, run, request.requested_by, auditor.label)


async def refuse_publication(db: Database, period_label: str, *, by: int, reason: str,
                             version: int | None = None) -> tuple[AppraisalRun,
                                                                  PublicationRequest]:
    """Refuse the period's publication awaiting approval, saying why: the version stays a
    draft (a new request, or a new run, may follow).

    Raises:
        PublicationRefused: no reason, ``by`` not an auditor for all units, or nothing
            awaits approval.
    """
    period = parse_period(period_label)
    async with db.transaction() as uow:
        return await refuse_in(uow, period.label, by=by, reason=reason, version=version)


async def refuse_in(uow: UnitOfWork, period: str | None, *, by: int, reason: str,
                    version: int | None = None, request_id: int | None = None
                    ) -> tuple[AppraisalRun, PublicationRequest]:
    """:func:`refuse_publication` within the caller's transaction; ``request_id`` instead
    of the period names the request (the dashboard's Refuse)."""
    reason = " ".join(clean_text(reason, multiline=False).split())
    if not reason:
        raise PublicationRefused("no_reason", "say why the publication is refused "
                                 "(--reason), for the audit log and the one who asked")
    if len(reason) > MAX_REFUSAL_REASON:
        raise PublicationRefused("reason_long", f"the reason is {len(reason)} characters; "
                                 f"keep it under {MAX_REFUSAL_REASON}",
                                 max=MAX_REFUSAL_REASON, length=len(reason))
    auditor = await _person(uow, by, Role.AUDITOR, "not_auditor", "refuse a publication")
    _runs, run, request = await _pending(uow, period, version, request_id)
    request.status, request.decided_by, request.decided_at, request.reason = (
        PublicationStatus.REFUSED, auditor.label, uow.clock(), reason)
    await uow.audit.record(auditor.label, "appraisal.refuse", "appraisal_run", run.id,
                           before={"status": "draft", "requested_by":
                                   request.requested_by},
                           after={"period": run.period, "version": run.version,
                                  "request": request.id, "why": reason})
    return run, request


async def refuse_tapped(uow: UnitOfWork, caller: Caller, request_id: int, reason: str
                        ) -> tuple[AppraisalRun, str]:
    """The dashboard's Refuse, with the auditor's reason.

    Raises:
        Refused: what :func:`refuse_in` refuses, as a text key.
    """
    lang = await language(uow, caller)
    try:
        run, _request = await refuse_in(uow, None, by=caller.telegram_user_id, reason=reason,
                                        request_id=request_id)
    except PublicationRefused as refused:
        raise Refused(refused.key, lang, refused.params) from refused
    return run, lang


async def awaiting_approval(uow: UnitOfWork, telegram_user_id: int | None = None
                            ) -> list[Awaiting]:
    """Every publication awaiting approval, oldest first; ``own`` tells the account asking
    which of them it may not approve."""
    label = None
    if telegram_user_id is not None:
        person = await uow.people.by_user(telegram_user_id)
        label = Actor.of(person).label if person is not None else None
    pending = await uow.appraisal.pending_requests()
    shown = await names(uow, [r.requested_by for _, r in pending]
                        + [run.computed_by for run, _ in pending])
    return [Awaiting(request.id, run.period, run.version, run.results_hash, run.summary,
                     shown[request.requested_by], request.requested_at,
                     shown[run.computed_by],
                     label is not None
                     and own_part(label, request.requested_by, run.computed_by) is not None)
            for run, request in pending]


# --- in chat ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """What an auditor is shown by /approve, in their language."""

    lang: str
    items: list[Awaiting]


async def review(uow: UnitOfWork, caller: Caller) -> Review:
    """/approve: the publications awaiting approval, for an auditor.

    Raises:
        Refused: ``not_auditor``, for anyone who is not an auditor for all units.
    """
    actor, lang = await acting_as(uow, caller, (Role.AUDITOR,), "not_auditor")
    if not holds_everywhere(actor, Role.AUDITOR):
        raise Refused("not_auditor", lang)
    return Review(lang, await awaiting_approval(uow, caller.telegram_user_id))


async def confirm(uow: UnitOfWork, caller: Caller, request_id: int) -> tuple[Awaiting, str]:
    """What the auditor is asked to confirm before approving: the request, if it still
    awaits approval and is not their own.

    Raises:
        Refused: not an auditor, the request no longer awaits approval, or it is theirs.
    """
    found = await review(uow, caller)
    item = next((i for i in found.items if i.request_id == request_id), None)
    if item is None:
        raise Refused("nothing_pending", found.lang)
    if item.own:
        raise Refused("own", found.lang, {"period": item.period, "version": item.version})
    return item, found.lang


async def approve_tapped(uow: UnitOfWork, caller: Caller, request_id: int
                         ) -> tuple[Published, str]:
    """The auditor confirmed: approve the request, which publishes its version.

    Raises:
        Refused: what :func:`approve_in` refuses, as a text key for the chat.
    """
    lang = await language(uow, caller)
    try:
        return await approve_in(uow, None, by=caller.telegram_user_id,
                                request_id=request_id), lang
    except PublicationRefused as refused:
        raise Refused(refused.key, lang, refused.params) from refused


@dataclass(frozen=True)
class Announcement:
    """A new request, to tell the auditors who may approve it: their chats and languages."""

    request_id: int
    period: str
    version: int
    requested_by: str  # the requester's name
    auditors: tuple[tuple[int, str | None], ...]


async def unannounced(uow: UnitOfWork) -> list[Announcement]:
    """The pending requests whose auditors have not been told yet."""
    pending = [(run, r) for run, r in await uow.appraisal.pending_requests()
               if r.announced_at is None]
    shown = await names(uow, [r.requested_by for _, r in pending])
    found = []
    for run, request in pending:
        found.append(Announcement(request.id, run.period, run.version,
                                  shown[request.requested_by],
                                  await _auditors(uow, request.requested_by, run.computed_by)))
    return found


async def announced(uow: UnitOfWork, request_ids: Sequence[int], now: datetime) -> None:
    """Their auditors were told (or could not be: nobody is asked twice)."""
    await uow.appraisal.mark_announced(request_ids, now)


# --- from the dashboard: an admin asks for a draft's publication ------------------------------


@dataclass(frozen=True)
class Draft:
    """A period's latest version, a draft nobody has asked to publish yet."""

    run_id: int
    period: str
    version: int
    computed_at: datetime
    computed_by: str  # a name
    summary: Mapping[str, object]


async def drafts(uow: UnitOfWork, caller: Caller) -> tuple[list[Draft], str]:
    """The drafts an admin for all units may ask to publish, newest first.

    Raises:
        Refused: ``not_admin``, for anyone who is not an admin for all units.
    """
    actor, lang = await acting_as(uow, caller, (Role.ADMIN,), "not_admin")
    if not holds_everywhere(actor, Role.ADMIN):
        raise Refused("not_admin", lang)
    found = []
    for run in await uow.appraisal.drafts():
        runs = await uow.appraisal.runs(run.period)
        if runs[-1].id != run.id or await uow.appraisal.requests(
                [r.id for r in runs], PublicationStatus.PENDING):
            continue  # not the latest version, or a version of it awaits approval already
        found.append(run)
    shown = await names(uow, [run.computed_by for run in found])
    return [Draft(run.id, run.period, run.version, run.computed_at, shown[run.computed_by],
                  run.summary) for run in found], lang


async def ask_tapped(uow: UnitOfWork, caller: Caller, run_id: int, requires_approval: bool
                     ) -> tuple[Published | Requested, str]:
    """The dashboard's "ask for publication" of a draft: :func:`publish_in` for its version.

    Raises:
        Refused: what :func:`publish_in` refuses, as a text key; ``nothing_pending`` for a
            run that does not exist.
    """
    lang = await language(uow, caller)
    known = parse_id(run_id)
    run = await uow.appraisal.get_run(known) if known is not None else None
    if run is None:
        raise Refused("nothing_pending", lang)
    try:
        return await publish_in(uow, run.period, by=caller.telegram_user_id,
                                requires_approval=requires_approval,
                                version=run.version), lang
    except PublicationRefused as refused:
        raise Refused(refused.key, lang, refused.params) from refused
