"""A resident reports a problem: /report (or an end-of-poll offer), the draft, and sending it.

The draft (:mod:`surveys.cases.drafts`) gathers what is wrong (text, at most
``rules.max_text_length`` characters: a longer text is refused whole, never cut), photos (as
notes' evidence: same limits, same store), a location, the unit (picked in the unit tree; set
already when the report comes from a poll) and a category (suggested from the text by the
theme topics, "other" if none fits; one tap changes it). Its prompt shows it as it stands and
what comes next: the text, then the place, then one tap to send, saying whether the resident
wants to be told what was done. The place is set from the start when it is known: the poll's
unit for an offer, or the one place the resident follows (``/units``); one tap changes it.

A captioned photo sent outside any dialogue starts a report too (:func:`start_from_photo`), as
a cadre's starts a note, unless it could be meant for something else (:func:`photo_gate`): a
poll being answered, or a report of the person's still open (whose staff may have asked for a
photo: a reply goes through its Reply button).

Sending opens the case in one transaction: the case (OPEN, its deadline from the rules), its
seal (who raised it, readable only with the secret: the chat only if they want to be told),
its photos and an OPENED timeline entry for the unit's staff, with a coarse time; the draft
goes. Nothing here writes the ``contacts`` table, and nothing links the case to a poll: an
offer carries only the unit and category, and its draft is made when it is tapped, in a
transaction of its own; a poll comment made the report's text moves out of the poll
(:mod:`surveys.cases.comments`). A person may have at most ``rules.max_open_per_person``
active cases.

Pure use cases: no Telegram. Refusals are raised as :class:`~surveys.people.caller.Refused`
with a text key (``case.<key>``); the transaction then rolls back, so nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from analysis.themes import comment_topics
from storage.evidence import StoredFile
from storage.ids import parse_id
from storage.models import Case, CaseDraft, CaseStatus
from surveys.cases import comments, drafts, holding, sealing, timeline
from surveys.cases.drafts import REPORT, Reporting, TooLong
from surveys.cases.rules import COMMENT, OTHER, POLL, RESIDENT, new_number
from surveys.cases.rules import REPORT as REPORT_ORIGIN
from surveys.fieldwork.rules import check_location, valid_location
from surveys.people.access import UnitTree
from surveys.people.caller import Caller, Refused
from surveys.people.names import display_name
from surveys.respondents.anonymity import coarse
from surveys.respondents.responding import current_response

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

PAGE_SIZE = 8
# The prompt's steps: what is wrong, where, which category, then send.
TEXT, UNIT, CATEGORY, CONFIRM = "text", "unit", "category", "confirm"
# Why a captioned photo outside any dialogue does not start a report (photo_gate).
IN_POLL, HAS_CASE = "poll", "case"


@dataclass(frozen=True)
class UnitButton:
    id: int
    name: str
    has_inside: bool  # units within it: it can be opened as well as chosen


@dataclass(frozen=True)
class UnitPage:
    """A page of the unit picker: the units inside ``node`` (None: the top)."""

    node_id: int | None
    node_name: str | None
    units: tuple[UnitButton, ...]
    up: int | None  # where "up" leads: a unit, 0 for the top, None for nowhere
    page: int
    pages: int


@dataclass(frozen=True)
class Place:
    """Where the resident says the problem is, and how far that is from the unit's centre
    (None when no unit above it has one)."""

    latitude: float
    longitude: float
    distance_km: float | None
    far: bool | None
    centre: str | None


@dataclass(frozen=True)
class Card:
    """The report being written, as its prompt shows it."""

    nonce: str
    version: int
    step: str
    text: str
    photos: int
    place: Place | None
    unit: str | None  # the unit's name (with its parent's when another unit shares it)
    category: str
    suggested: bool  # the category was suggested from the text, not chosen
    quotable: bool
    origin: str
    from_photo: bool  # started by a captioned photo, not by /report or an offer
    picker: UnitPage | None
    categories: tuple[str, ...]  # to choose from, "other" last

    def choice(self, value: str) -> str:
        return drafts.choice_data(self.nonce, self.version, value)


@dataclass(frozen=True)
class DraftOutcome:
    lang: str
    card: Card
    # What this message did: "started", "text", "photo", "same_photo", "location", "tap".
    added: str
    too_long: TooLong | None = None
    blank: bool = False  # the text had nothing visible: not taken
    retire: int | None = None  # the earlier prompt, whose buttons should go
    replaced: str | None = None  # the kind of unsent draft this one replaced


@dataclass(frozen=True)
class Opened:
    """A report sent: the case's public number and deadline (a date in the case time
    zone)."""

    number: str
    due_on: date
    wants_reply: bool


@dataclass(frozen=True)
class TapOutcome:
    lang: str
    card: Card | None = None  # the prompt as it stands now (None: sent or cancelled)
    opened: Opened | None = None
    cancelled: str | None = None  # the kind of draft the Cancel button ended


# --- starting -------------------------------------------------------------------------------


def _new(unit_id: int | None = None, category: str | None = None, origin: str = "report",
         text: str = "") -> dict[str, Any]:
    # ``category`` None: suggested from the text until the resident chooses one.
    return {"text": text, "photos": [], "place": None, "unit_id": unit_id,
            "category": category, "quotable": False, "origin": origin, "step": None,
            "browse": None, "page": 0}


async def _followed(uow: UnitOfWork, caller: Caller) -> int | None:
    """The one place the person follows (``/units``), where a report most likely belongs;
    None when they follow none or several. Read only: the contact is never written here."""
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    if contact is None:
        return None
    followed = await uow.subscriptions.unit_ids(contact.id)
    if len(followed) != 1:
        return None
    [unit_id] = followed
    return unit_id if unit_id in (await UnitTree.load(uow)).by_id else None


async def start_report(uow: UnitOfWork, caller: Caller, text: str = "", *,
                       desk: Reporting) -> DraftOutcome:
    """``/report [text]``: a new report draft (an unsent draft is replaced, and the resident
    told).

    Raises:
        Refused: ``limit`` (as many active cases as one person may have).
    """
    lang = await drafts.language(uow, caller)
    await drafts.refuse_at_limit(uow, caller, desk, lang)
    data = _new(await _followed(uow, caller))
    too_long, blank = None, False
    if text.strip():
        kept, too_long = drafts.checked_text(text, desk.rules.max_text_length)
        data["text"] = kept or ""
        blank = kept == ""
    draft, replaced, shown = await drafts.replace(uow, caller, desk.secret, REPORT, data)
    return DraftOutcome(lang, await _card(uow, draft, desk, lang), "started", too_long, blank,
                        shown, replaced)


async def start_from_offer(uow: UnitOfWork, caller: Caller, unit_id: int,
                           category: str | None, comment: bool, *,
                           desk: Reporting) -> DraftOutcome:
    """The end-of-poll offer was tapped: a report about the poll's unit (and the question's
    category), with the resident's comment as its text if they chose "Turn my comment into
    a report" (the comment then moves out of the poll when it is sent:
    :mod:`surveys.cases.comments`). Its own transaction, after the poll's.

    Raises:
        Refused: ``forged`` (no such unit), ``limit``.
    """
    lang = await drafts.language(uow, caller)
    tree = await UnitTree.load(uow)
    known = parse_id(unit_id)
    if known is None or known not in tree.by_id:
        raise Refused("forged", lang)
    await drafts.refuse_at_limit(uow, caller, desk, lang)
    chosen = category if category in (*desk.rules.categories, OTHER) else None
    data = _new(known, chosen, POLL)
    too_long = None
    if comment:
        said = await comments.poll_comment(uow, desk.secret, caller.telegram_user_id, known)
        kept, too_long = drafts.checked_text(said.text if said else "",
                                             desk.rules.max_text_length)
        if kept and said is not None:
            # The comment moves out of the poll when the report is sent (surveys.cases.comments).
            data.update(text=kept, origin=COMMENT,
                        **comments.for_draft(desk.secret, drafts.key_of(caller, desk.secret), said))
    draft, replaced, shown = await drafts.replace(uow, caller, desk.secret, REPORT, data)
    return DraftOutcome(lang, await _card(uow, draft, desk, lang), "started", too_long,
                        retire=shown, replaced=replaced)


@dataclass(frozen=True)
class PhotoGate:
    """Whether a photo sent outside any dialogue may start a report: ``why`` not (``IN_POLL``:
    a poll is being answered, the photo may be meant for it; ``HAS_CASE``: a report of the
    person's is open, it may be meant for its staff), None when it may."""

    why: str | None
    lang: str


async def photo_gate(uow: UnitOfWork, caller: Caller, secret: bytes) -> PhotoGate:
    """See :class:`PhotoGate`. A read, before the photo is downloaded; starting the report
    still checks the limit of open cases."""
    lang = await drafts.language(uow, caller)
    if await current_response(uow, secret, caller.telegram_user_id) is not None:
        return PhotoGate(IN_POLL, lang)
    quota = sealing.quota_key(secret, caller.telegram_user_id)
    return PhotoGate(HAS_CASE if await drafts.open_cases(uow, secret, quota) else None, lang)


async def start_from_photo(uow: UnitOfWork, caller: Caller, stored: StoredFile, caption: str,
                           *, desk: Reporting) -> DraftOutcome:
    """A captioned photo sent outside any dialogue (:func:`photo_gate` let it through): a new
    report with the photo, its caption as the text and the place the person follows, if one.

    Raises:
        Refused: ``limit``.
    """
    lang = await drafts.language(uow, caller)
    await drafts.refuse_at_limit(uow, caller, desk, lang)
    data = {**_new(await _followed(uow, caller)), "from_photo": True}
    added, too_long, blank = _add_photo(data, stored, caption, desk, lang)
    draft, replaced, shown = await drafts.replace(uow, caller, desk.secret, REPORT, data)
    return DraftOutcome(lang, await _card(uow, draft, desk, lang), added, too_long, blank,
                        shown, replaced)


# --- the draft ------------------------------------------------------------------------------


async def _report(uow: UnitOfWork, caller: Caller, desk: Reporting,
                  lang: str) -> tuple[CaseDraft, dict[str, Any]]:
    """The person's report draft (locked) and a copy of its data.

    Raises:
        Refused: ``no_draft`` (none, or a reply or comment is being written instead).
    """
    draft = await drafts.locked(uow, caller, desk.secret)
    if draft is None or draft.kind != REPORT:
        raise Refused("no_draft", lang)
    return draft, dict(draft.data)


async def draft_text(uow: UnitOfWork, caller: Caller, text: str, *,
                     desk: Reporting) -> DraftOutcome:
    """A typed message while writing a report: it becomes (or replaces) the report's text.
    Over the limit, or with nothing visible, it is refused and the draft keeps what it had
    (and its version, so the buttons shown still work)."""
    lang = await drafts.language(uow, caller)
    draft, data = await _report(uow, caller, desk, lang)
    kept, too_long = drafts.checked_text(text, desk.rules.max_text_length)
    if not kept:
        return DraftOutcome(lang, await _card(uow, draft, desk, lang), "text", too_long,
                            blank=kept == "")
    _own_words(data, kept)
    return await _saved(uow, caller, desk, lang, draft, data, "text")


async def draft_photo(uow: UnitOfWork, caller: Caller, stored: StoredFile,
                      caption: str | None, *, desk: Reporting) -> DraftOutcome:
    """A photo (already checked and kept under its SHA-256) for the report; its caption, if
    any, is the report's text.

    Raises:
        Refused: ``too_many_photos``, ``no_draft``.
    """
    lang = await drafts.language(uow, caller)
    draft, data = await _report(uow, caller, desk, lang)
    added, too_long, blank = _add_photo(data, stored, caption, desk, lang)
    outcome = await _saved(uow, caller, desk, lang, draft, data, added)
    return DraftOutcome(lang, outcome.card, added, too_long, blank, outcome.retire)


def _add_photo(data: dict[str, Any], stored: StoredFile, caption: str | None, desk: Reporting,
               lang: str) -> tuple[str, TooLong | None, bool]:
    """Add the photo to the draft's ``data`` and take its caption as the text; returns what
    was added (``photo``, ``same_photo``), a caption over the limit, and whether the caption
    had nothing visible.

    Raises:
        Refused: ``too_many_photos``.
    """
    photos = list(data.get("photos", []))
    added = "photo"
    if any(item["sha"] == stored.sha256 for item in photos):
        added = "same_photo"  # sent twice (a resend, an album repeated): kept once
    elif len(photos) >= desk.max_photos:
        raise Refused("too_many_photos", lang, {"limit": desk.max_photos})
    else:
        photos.append({"sha": stored.sha256, "path": stored.path, "size": stored.size_bytes,
                       "type": stored.media_type})
    data["photos"] = photos
    too_long, blank = None, False
    if caption and caption.strip():
        # A caption too long or with nothing visible is no text: the photo is kept anyway.
        kept, too_long = drafts.checked_text(caption, desk.rules.max_text_length)
        if kept:
            _own_words(data, kept)
        blank = kept == ""
    return added, too_long, blank


def _own_words(data: dict[str, Any], text: str) -> None:
    """The resident's own text replaces the draft's: a poll comment it held stays in the
    poll (nothing moves), and the draft is one from the poll like any other."""
    data["text"] = text
    if data.get("origin") == COMMENT:
        data["origin"] = POLL
    data.pop(comments.FIELD, None)


async def draft_location(uow: UnitOfWork, caller: Caller, latitude: float, longitude: float,
                         *, desk: Reporting) -> DraftOutcome:
    """Where the problem is; a second location replaces the first.

    Raises:
        Refused: ``bad_location`` (not a point on Earth), ``no_draft``.
    """
    lang = await drafts.language(uow, caller)
    if not valid_location(latitude, longitude):
        raise Refused("bad_location", lang)
    draft, data = await _report(uow, caller, desk, lang)
    data["place"] = [latitude, longitude]
    return await _saved(uow, caller, desk, lang, draft, data, "location")


async def _saved(uow: UnitOfWork, caller: Caller, desk: Reporting, lang: str,
                 draft: CaseDraft, data: dict[str, Any], added: str) -> DraftOutcome:
    retire = drafts.prompt_of(draft)
    saved = await uow.cases.save_draft(drafts.key_of(caller, desk.secret), REPORT, data)
    return DraftOutcome(lang, await _card(uow, saved, desk, lang), added, retire=retire)


async def show_draft(uow: UnitOfWork, caller: Caller, *, desk: Reporting) -> DraftOutcome:
    """The report as it stands, changing nothing: the answer to a message handled before
    whose reply may have been lost (the bot died between the commit and the reply).

    Raises:
        Refused: ``no_draft`` (sent or dropped since).
    """
    lang = await drafts.language(uow, caller)
    draft, _data = await _report(uow, caller, desk, lang)
    return DraftOutcome(lang, await _card(uow, draft, desk, lang), "resumed")


async def show_tap(uow: UnitOfWork, caller: Caller, *, desk: Reporting,
                   draft_nonce: str | None = None) -> TapOutcome:
    """The prompt as it stands, for a tap handled before (see :func:`show_draft`); if the
    report was sent (by that tap, whose receipt died with the process), its receipt again.

    Raises:
        Refused: ``stale`` (dropped since, or sent and over: the tapped prompt is over).
    """
    lang = await drafts.language(uow, caller)
    draft = await drafts.locked(uow, caller, desk.secret)
    if draft is not None and draft.kind == REPORT:
        return TapOutcome(lang, card=await _card(uow, draft, desk, lang))
    opened = await _sent_from(uow, caller, draft_nonce, desk, lang) if draft_nonce else None
    if opened is None:
        raise Refused("stale", lang)
    return TapOutcome(lang, opened=opened)


async def _sent_from(uow: UnitOfWork, caller: Caller, draft_nonce: str, desk: Reporting,
                     lang: str) -> Opened | None:
    """The receipt of the caller's case that the draft ``draft_nonce`` opened, while the
    case is active (its seal, which only the bot opens, names the draft)."""
    mine = sealing.quota_key(desk.secret, caller.telegram_user_id)
    for case_id, sealed in await uow.cases.active_seals():
        reporter = sealing.unseal(desk.secret, case_id, sealed)
        if reporter is not None and reporter.quota_key == mine and reporter.draft == draft_nonce:
            case = await uow.cases.get(case_id)
            if case is not None:
                return _receipt(case, desk)
    return None


# --- the prompt -----------------------------------------------------------------------------


def suggest(text: str, desk: Reporting) -> str:
    """The category a text is about: the first of the categories its words name, else
    "other"."""
    found = comment_topics(text, "und", desk.rules.topics)
    return next((c for c in desk.rules.categories if c in found), OTHER)


def _step(data: dict[str, Any]) -> str:
    if not data.get("text"):
        return TEXT
    if data.get("unit_id") is None or data.get("step") == UNIT:
        return UNIT
    return CATEGORY if data.get("step") == CATEGORY else CONFIRM


async def _card(uow: UnitOfWork, draft: CaseDraft, desk: Reporting, lang: str) -> Card:
    data = draft.data
    tree = await UnitTree.load(uow)
    unit_id = data.get("unit_id")
    if unit_id is not None and unit_id not in tree.by_id:
        unit_id = None  # the unit was removed meanwhile: choose again
    step = _step({**data, "unit_id": unit_id})
    text = str(data.get("text") or "")
    chosen = data.get("category")
    return Card(
        nonce=str(data["nonce"]), version=draft.version, step=step, text=text,
        photos=len(data.get("photos", [])),
        place=_place(tree, data.get("place"), unit_id, desk, lang),
        unit=_where(tree, unit_id, lang) if unit_id is not None else None,
        category=chosen or suggest(text, desk), suggested=chosen is None,
        quotable=bool(data.get("quotable")), origin=str(data.get("origin") or "report"),
        from_photo=bool(data.get("from_photo")),
        picker=_picker(tree, data.get("browse"), int(data.get("page") or 0), lang)
        if step == UNIT else None,
        categories=(*desk.rules.categories, OTHER),
    )


def _where(tree: UnitTree, unit_id: int, lang: str) -> str:
    """The unit as a resident knows it: its name, and its parent's where another unit has
    the same name (two "Zhangzhuang Village"s in two townships)."""
    unit = tree.by_id[unit_id]
    name = display_name(unit, lang)
    parent = tree.by_id.get(unit.parent_id) if unit.parent_id is not None else None
    twins = any(display_name(other, lang) == name for other in tree.by_id.values()
                if other.id != unit_id)
    return f"{name}, {display_name(parent, lang)}" if twins and parent is not None else name


def _place(tree: UnitTree, point: list[float] | None, unit_id: int | None, desk: Reporting,
           lang: str) -> Place | None:
    if not point:
        return None
    latitude, longitude = float(point[0]), float(point[1])
    if unit_id is None:
        return Place(latitude, longitude, None, None, None)
    check = check_location(tree, [unit_id], latitude, longitude, desk.default_radius_km)
    centre = next((display_name(tree.by_id[a], lang) for a in tree.ancestors(unit_id)
                   if tree.by_id[a].latitude is not None
                   and tree.by_id[a].longitude is not None), None)
    return Place(latitude, longitude, check.distance_km, check.far, centre)


def _picker(tree: UnitTree, browse: object, page: int, lang: str) -> UnitPage:
    at = tree.browse(tree.by_id.keys(), browse)
    pages = max(1, (len(at.listed) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = at.listed[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    return UnitPage(
        node_id=at.node.id if at.node is not None else None,
        node_name=display_name(at.node, lang) if at.node is not None else None,
        units=tuple(UnitButton(u.id, display_name(u, lang), at.has_inside(u)) for u in shown),
        up=at.up, page=page, pages=pages,
    )


# --- the prompt's buttons -------------------------------------------------------------------


async def draft_tap(uow: UnitOfWork, caller: Caller, chat_id: int, draft_nonce: str,
                    version: int, choice: str, *, desk: Reporting) -> TapOutcome:
    """A button of a draft's prompt: ``x`` drops the draft (of any kind); on a report,
    ``u<id>`` chooses the unit, ``o<id>`` opens one (``o0``: the top), ``p<n>`` turns the
    page, ``l`` changes the place, ``c`` the category, ``k<n>`` chooses one, ``b`` goes back,
    ``q`` allows quoting or not, ``y``/``n`` send it (telling the resident what was done, or
    not).

    Raises:
        Refused: ``stale`` (not the draft's current prompt), ``forged`` (a choice no prompt
            shows), ``limit`` (on sending), ``no_unit``.
    """
    lang = await drafts.language(uow, caller)
    draft = drafts.current(await drafts.locked(uow, caller, desk.secret), draft_nonce,
                           version, lang)
    if choice == "x":
        await uow.cases.drop_draft(draft.key)
        return TapOutcome(lang, cancelled=draft.kind)
    if draft.kind != REPORT:
        raise Refused("forged", lang)
    data = dict(draft.data)
    if choice in ("y", "n"):
        opened = await _open_case(uow, caller, chat_id, draft, choice == "y", desk, lang)
        return TapOutcome(lang, opened=opened)
    tree = await UnitTree.load(uow)
    if not _apply(data, choice, tree, desk):
        raise Refused("forged", lang)
    saved = await uow.cases.save_draft(draft.key, REPORT, data)
    return TapOutcome(lang, card=await _card(uow, saved, desk, lang))


def _apply(data: dict[str, Any], choice: str, tree: UnitTree, desk: Reporting) -> bool:
    """Change the draft's ``data`` as the button ``choice`` says; False: no such button."""
    action, arg = choice[:1], choice[1:]
    number = int(arg) if arg.isdigit() and len(arg) <= 16 else None
    if action == "u" and number in tree.by_id:
        data.update(unit_id=number, step=None)
    elif action == "o" and (number == 0 or number in tree.by_id):
        data.update(browse=number or None, page=0, step=UNIT)
    elif action == "p" and number is not None:
        data.update(page=number, step=UNIT)
    elif action == "l" and not arg:
        unit_id = data.get("unit_id")
        parent = tree.by_id[unit_id].parent_id if unit_id in tree.by_id else None
        data.update(step=UNIT, browse=parent, page=0)
    elif action == "c" and not arg:
        data.update(step=CATEGORY)
    elif action == "k" and number is not None and number <= len(desk.rules.categories):
        data.update(category=(*desk.rules.categories, OTHER)[number], step=None)
    elif action == "b" and not arg:
        data.update(step=None)
    elif action == "q" and not arg:
        data.update(quotable=not data.get("quotable"))
    else:
        return False
    return True


async def _open_case(uow: UnitOfWork, caller: Caller, chat_id: int, draft: CaseDraft,
                     wants_reply: bool, desk: Reporting, lang: str) -> Opened:
    """Send the report: the case, its seal, photos and OPENED entry; the draft goes."""
    data = draft.data
    tree = await UnitTree.load(uow)
    unit_id = data.get("unit_id")
    if not data.get("text") or unit_id is None:
        raise Refused("stale", lang)  # a send button is only shown once both are there
    if unit_id not in tree.by_id:
        raise Refused("no_unit", lang)
    await drafts.refuse_at_limit(uow, caller, desk, lang)
    rules, text = desk.rules, str(data["text"])
    category = data.get("category") or suggest(text, desk)
    opened_on = rules.today(caller.now)
    # Staff see the case only when its window's reports are released together.
    held = holding.held_until(caller.now, desk.resolution, rules.hold_window)
    place = _place(tree, data.get("place"), unit_id, desk, lang)
    # A comment's case says "poll": see surveys.cases.comments.
    origin = str(data.get("origin") or REPORT_ORIGIN)
    case = await uow.cases.add(Case(
        unit_id=unit_id, category=category, origin=POLL if origin == COMMENT else origin,
        text=text, quotable=bool(data.get("quotable")), wants_reply=wants_reply,
        status=CaseStatus.OPEN, opened_on=opened_on, due_at=rules.due(category, opened_on),
        latitude=place.latitude if place else None, longitude=place.longitude if place else None,
        distance_km=place.distance_km if place else None,
        far_from_unit=place.far if place else None, held_until=held,
    ), [new_number() for _ in range(4)])
    reporter = sealing.Reporter(sealing.quota_key(desk.secret, caller.telegram_user_id),
                                chat_id if wants_reply else None, lang,
                                draft=str(data.get("nonce") or "") or None)
    await uow.cases.put_seal(case.id, sealing.seal(desk.secret, case.id, reporter))
    await comments.keep(uow, desk.secret, draft.key, data)
    for photo in data.get("photos", []):
        await uow.cases.add_photo(case.id, "report", sha256=photo["sha"], path=photo["path"],
                                  size_bytes=int(photo["size"]), media_type=photo["type"])
    await timeline.record(uow, case, timeline.OPENED, timeline.TO_UNIT, author=RESIDENT,
                          at=coarse(caller.now, desk.resolution), held_until=held)
    await uow.cases.drop_draft(draft.key)
    return _receipt(case, desk)


def _receipt(case: Case, desk: Reporting) -> Opened:
    rules = desk.rules
    return Opened(case.number, rules.due_on(case.category, case.opened_on), case.wants_reply)


# --- cancelling, the prompt's message -------------------------------------------------------


@dataclass(frozen=True)
class CancelOutcome:
    lang: str
    cancelled: str | None  # the kind of draft dropped (None: there was none)
    retire: int | None = None


async def cancel(uow: UnitOfWork, caller: Caller, *, desk: Reporting) -> CancelOutcome:
    """``/cancel`` while writing a report, a reply or a comment: forget it. Photos already
    received stay on file, tied to no case."""
    lang = await drafts.language(uow, caller)
    draft = await drafts.locked(uow, caller, desk.secret)
    if draft is None:
        return CancelOutcome(lang, None)
    await uow.cases.drop_draft(draft.key)
    return CancelOutcome(lang, draft.kind, drafts.prompt_of(draft))


async def remember_prompt(uow: UnitOfWork, caller: Caller, draft_nonce: str, version: int,
                          message_id: int, *, desk: Reporting) -> int | None:
    """See :func:`surveys.cases.drafts.remember_prompt`."""
    return await drafts.remember_prompt(uow, caller, desk.secret, draft_nonce, version,
                                        message_id)
