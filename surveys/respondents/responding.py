"""Use cases of the resident journey: open a campaign, answer, go back, skip, change, submit.

Each function runs inside one unit of work given by the caller and returns a
:class:`~surveys.respondents.journey.Reply` that says what to show; the caller sends it after
the commit. Nothing here knows Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from storage.ids import RESPONSE_ID_MAX, parse_id
from storage.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Person,
    RespondentSession,
    Response,
    ResponseStatus,
    Role,
)
from surveys.appraisal.periods import MONTH, QUARTER, period_of
from surveys.campaigns.rules import INVITATION_ENTRY, is_open, parse_start_payload
from surveys.cases import drafts
from surveys.cases.offer import CaseOffer, poll_offer
from surveys.fieldwork import cadres
from surveys.people.access import UnitTree
from surveys.people.caller import LANGUAGES, resolve_language
from surveys.people.names import display_name
from surveys.questionnaire import engine
from surveys.questionnaire.answers import from_row, to_row
from surveys.questionnaire.engine import InvalidAnswer, State
from surveys.questionnaire.schema import AnswerValue, Question, Survey
from surveys.respondents.anonymity import coarse, respondent_key, seal_time, session_key
from surveys.respondents.following import follow_offer, unit_picker
from surveys.respondents.journey import Intro, Reply, Respondent, Screen

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


def _state(survey: Survey, response: Response) -> State:
    by_id = {q.id: q for q in survey.questions}
    answers = {
        a.question_id: from_row(by_id[a.question_id], a)
        for a in response.answers
        if a.question_id in by_id
    }
    return engine.restore(survey, answers, response.current_question)


def _screen(survey: Survey, response: Response, state: State, picking: bool = False) -> Screen:
    question = engine.current_question(survey, state)
    draft: tuple[str, ...] = ()
    if question is not None and question.type == "multi":
        if response.draft is not None:
            draft = tuple(response.draft)
        else:
            previous = state.answers.get(question.id)
            draft = tuple(previous) if isinstance(previous, list) else ()
    return Screen(
        response_id=response.id,
        step=response.step,
        survey=survey,
        state=state,
        question=question,
        progress=engine.progress(survey, state),
        draft=draft,
        picking=picking,
    )


async def _contact(uow: UnitOfWork, who: Respondent) -> Contact:
    return await uow.contacts.get_or_create(who.telegram_user_id, who.chat_id)


async def open_campaign(uow: UnitOfWork, who: Respondent, payload: str | None) -> Reply:
    """``/start CODE``: begin the campaign's poll, resume it, or explain why not.

    ``/start cadre-<token>`` is a cadre's invite link instead (see :func:`_redeem`).
    """
    if cadres.is_invite_payload(payload):
        assert payload is not None
        return await _redeem(uow, who, payload)
    contact, first = await uow.contacts.join(
        who.telegram_user_id, who.chat_id,
        language=resolve_language(None, who.client_language, who.default_language))
    lang = resolve_language(contact, who.client_language, who.default_language)
    if contact.language is None:
        contact.language = lang
    start = parse_start_payload(payload)
    resumed_invitations = contact.opted_out
    contact.opted_out = False  # /start, with or without a code, turns invitations back on
    if start is None:
        if resumed_invitations and not payload:
            return Reply(lang, notice="invitations_resumed")
        return await _welcome(uow, who, contact, lang, unknown=bool(payload))
    campaign = await uow.campaigns.by_code(start.code)
    if campaign is None:
        return Reply(lang, notice="unknown_code", params={"code": start.code})
    entry = start.entry
    if entry is not None and not await uow.entry_points.exists(campaign.id, entry):
        entry = None  # an old poster or a typo: answering matters more than where from
    return await _begin(uow, who, contact, lang, campaign, entry, new_contact=first)


async def _redeem(uow: UnitOfWork, who: Respondent, payload: str) -> Reply:
    """A cadre's invite link. Only a successful link writes anything: a stranger with a
    forged link does not even get a contact row."""
    done = await cadres.redeem_invite(uow, who.telegram_user_id, who.chat_id, payload, who.now)
    contact = await uow.contacts.by_user(who.telegram_user_id)
    lang = resolve_language(contact, who.client_language, who.default_language)
    if done.outcome == cadres.LINKED_NOW and contact is not None and contact.language is None:
        contact.language = lang
    params: dict[str, object] = {}
    if done.expired_at is not None:
        params["date"] = done.expired_at.strftime("%Y-%m-%d")
    return Reply(lang, notice=f"cadre.{done.outcome}", params=params, cadre=done.profile)


async def open_invitation(uow: UnitOfWork, who: Respondent, campaign_id: int) -> Reply:
    """The "Start" button under an invitation or a reminder."""
    contact = await _contact(uow, who)
    lang = resolve_language(contact, who.client_language, who.default_language)
    known = parse_id(campaign_id)
    campaign = await uow.campaigns.get(known) if known is not None else None
    if campaign is None:
        return Reply(lang, notice="stale", only_notice=True)
    if campaign.audience == "cadres" and contact.id not in await uow.outbox.contacts_with(
        campaign.id, "invite"
    ):
        # Campaign ids are guessable; a self-assessment is only for the cadres it was sent to.
        return Reply(lang, notice="forged", only_notice=True)
    return await _begin(uow, who, contact, lang, campaign, INVITATION_ENTRY)


async def _begin(
    uow: UnitOfWork, who: Respondent, contact: Contact, lang: str, campaign: Campaign,
    entry: str | None, *, new_contact: bool = False,
) -> Reply:
    """Begin or resume ``campaign``'s poll; ``new_contact``: the account wrote for the first
    time in this very transaction (so it is nobody's cadre account yet)."""
    person: Person | None = None
    about: dict[str, object] = {"unit": display_name(campaign.unit, lang)}
    if campaign.audience == "cadres":
        # A self-assessment is for the cadres of the campaign's units, however they came.
        person = await _cadre_of(uow, contact, campaign)
        if person is None:
            return Reply(lang, notice="cadres_only", params=about)
    elif not new_contact and await _rates_own_unit(uow, contact, campaign):
        # A cadre's answers about their own unit would be removed at the appraisal run
        # anyway (surveys.appraisal.run.detect_anomalies): better said now than silently.
        return Reply(lang, notice="residents_only", params=about)
    if campaign.status == CampaignStatus.DRAFT or campaign.opens_at > who.now:
        return Reply(lang, notice="not_open_yet", params={"opens_at": campaign.opens_at})
    key = respondent_key(who.secret, campaign.id, who.telegram_user_id)
    survey = await who.catalog.get(uow, campaign.survey_id)
    # Whose answers these are, for a survey that is not anonymous (a self-assessment).
    person_id = person.id if person is not None and not survey.anonymous else None
    # Someone who wrote for the first time has no response yet: responses are begun only
    # here, by an account that has a contact, and contacts are never deleted.
    response = None if new_contact else await uow.responses.find(campaign.id, key)
    if person_id is not None and response is None:
        # A named respondent is the person, not the account: one begun on a phone the cadre
        # has since replaced continues here, and the old phone's buttons stop working.
        response = await uow.responses.of_person(campaign.id, person_id)
        if response is not None:
            response.respondent_key = key
    if response is not None and response.status == ResponseStatus.COMPLETED:
        return Reply(lang, notice="already_answered", params=about)
    if not is_open(campaign, who.now):
        return Reply(lang, notice="closed", params=about)
    retire = await uow.sessions.start(who.session, campaign.id)
    # A reply or comment for a case being written gives way: what is typed now is the poll's.
    await drafts.drop_writing(uow, who.secret, who.telegram_user_id)
    if response is None:
        state = engine.start(survey)
        created = await uow.responses.create(
            campaign_id=campaign.id,
            survey_id=campaign.survey_id,
            respondent_key=key,
            language=lang,
            current_question=state.current,
            started_at=coarse(who.now, who.time_resolution),
            sealed_start=seal_time(who.secret, key, who.now),
            entry_point=entry,
        )
        if created is not None:
            created.person_id = person_id
            intro = Intro(
                survey=survey,
                unit_name=str(about["unit"]),
                closes_at=campaign.closes_at,
                questions=engine.progress(survey, state).total,
                anonymous=survey.anonymous,
            )
            return Reply(
                lang, intro=intro, screen=_screen(survey, created, state),
                retire_message_id=retire,
            )
        # A second /start handled at the same moment created it: continue with that one.
        response = await uow.responses.find(campaign.id, key)
        assert response is not None
    if response.language != lang:
        await uow.responses.set_language(response, lang)
    if person_id is not None and response.person_id is None:
        response.person_id = person_id
    return Reply(
        lang,
        notice="resumed",
        screen=_screen(survey, response, _state(survey, response)),
        retire_message_id=retire,
    )


async def _still_theirs(uow: UnitOfWork, who: Respondent, person_id: int) -> bool:
    """Whether the account still belongs to the named respondent (a cadre who moved to a new
    phone must not be answered for from the old one)."""
    person = await uow.people.by_user(who.telegram_user_id)
    return person is not None and person.id == person_id


async def _cadre_of(uow: UnitOfWork, contact: Contact, campaign: Campaign) -> Person | None:
    """The person behind the account if they are a cadre of the campaign's unit or of a unit
    below it (as the invitations go: ``SubscriptionsRepository.cadres``); else None."""
    person = await uow.people.by_contact(contact.id)
    if person is None:
        return None
    area = (await UnitTree.load(uow)).subtree(campaign.unit_id)
    if any(r.role == Role.CADRE and r.unit_id in area for r in person.roles):
        return person
    return None


async def _rates_own_unit(uow: UnitOfWork, contact: Contact, campaign: Campaign) -> bool:
    """Whether the account is a linked cadre of the unit a residents' poll rates."""
    person = await uow.people.by_contact(contact.id)
    return person is not None and any(
        r.role == Role.CADRE and r.unit_id == campaign.unit_id for r in person.roles)


def assessment_period(campaign: Campaign) -> str:
    """The period a self-assessment counts for: the quarter for a quarterly series, otherwise
    the month the campaign opened in (UTC, as ``surveys.appraisal.periods`` reads labels)."""
    kind = QUARTER if campaign.recurrence == "quarterly" else MONTH
    return period_of(campaign.opens_at, kind).label


async def _welcome(
    uow: UnitOfWork, who: Respondent, contact: Contact, lang: str, unknown: bool
) -> Reply:
    active = await _active(uow, who)
    notice = "bad_code" if unknown else "welcome"
    if active is None:
        if not unknown and not contact.units_chosen:
            picker = await unit_picker(uow, contact, lang, None, 0)
            return Reply(lang, notice=notice, picker=picker)
        return Reply(lang, notice=notice)
    _campaign, response, survey, session = active
    return Reply(
        lang,
        notice="welcome_back" if not unknown else notice,
        screen=_screen(survey, response, _state(survey, response)),
        retire_message_id=session.prompt_message_id,
    )


async def current_response(uow: UnitOfWork, secret: bytes, telegram_user_id: int
                           ) -> tuple[RespondentSession, Response] | None:
    """The poll response this person is answering now, if one is in progress: found through
    their session row and respondent key, both keyed hashes (no table points from the
    person to it)."""
    session = await uow.sessions.get(session_key(secret, telegram_user_id))
    if session is None:
        return None
    response = await uow.responses.find_with_campaign(
        session.campaign_id, respondent_key(secret, session.campaign_id, telegram_user_id))
    if response is None or response.status != ResponseStatus.IN_PROGRESS:
        return None
    return session, response


async def _active(
    uow: UnitOfWork, who: Respondent
) -> tuple[Campaign, Response, Survey, RespondentSession] | None:
    found = await current_response(uow, who.secret, who.telegram_user_id)
    if found is None:
        return None
    session, response = found
    if response.person_id is not None and not await _still_theirs(uow, who, response.person_id):
        return None
    campaign = response.campaign  # loaded with the response
    survey = await who.catalog.get(uow, campaign.survey_id)
    return campaign, response, survey, session


@dataclass(frozen=True)
class Tap:
    """A decoded button press: which response, at which step, doing what."""

    response_id: int
    step: int
    action: str  # v value, t toggle, d done, s skip, b back, e edit-list, g goto, u submit
    arg: int | None = None


async def _tapped(uow: UnitOfWork, who: Respondent, tap: Tap) -> Response | Reply:
    """The response a poll button names, with its campaign, if it is this person's; else the
    refusal to show (an id no response can have is answered like a missing one)."""
    known = parse_id(tap.response_id, RESPONSE_ID_MAX)
    response = await uow.responses.get_with_campaign(known) if known is not None else None
    client_lang = resolve_language(None, who.client_language, who.default_language)
    if response is None:
        return Reply(client_lang, notice="stale", only_notice=True)
    campaign = response.campaign
    if response.respondent_key != respondent_key(who.secret, campaign.id, who.telegram_user_id):
        return Reply(client_lang, notice="forged", only_notice=True)
    if response.person_id is not None and not await _still_theirs(uow, who, response.person_id):
        return Reply(client_lang, notice="forged", only_notice=True)
    return response


async def press(uow: UnitOfWork, who: Respondent, tap: Tap) -> Reply:
    """A button on a poll message was pressed.

    The hottest path (most answers are taps), so it reads one joined row set and leaves the
    contact alone: the pressed message already is the prompt, and the response carries the
    language. Only submitting updates the contact.
    """
    response = await _tapped(uow, who, tap)
    if isinstance(response, Reply):
        return response
    campaign = response.campaign
    lang = response.language
    if response.status == ResponseStatus.COMPLETED:
        return Reply(lang, notice="already_submitted", only_notice=True)
    if tap.step != response.step:
        return Reply(lang, notice="stale", only_notice=True)
    if not is_open(campaign, who.now):
        return Reply(lang, notice="closed", params={"unit": display_name(campaign.unit, lang)},
                     only_notice=True)
    survey = await who.catalog.get(uow, campaign.survey_id)
    state = _state(survey, response)
    try:
        reply = await _apply_tap(uow, who, survey, response, state, tap, lang)
    except InvalidAnswer as exc:
        return Reply(lang, notice=f"invalid.{exc.code}", params=dict(exc.params), only_notice=True)
    if reply.submitted:
        await uow.sessions.end(who.session, campaign.id)
        if response.person_id is not None:
            return await _self_assessed(uow, response, campaign, reply.lang)
        if campaign.audience == "cadres":
            return reply  # following a unit's polls is for residents
        reply = replace(reply, public_unit=_public_unit(campaign, reply.lang))
        offer = await follow_offer(uow, who, campaign, reply.lang)
        if offer is not None:
            return replace(reply, follow_offer=offer)
    return reply


async def replay_press(uow: UnitOfWork, who: Respondent, tap: Tap) -> Reply:
    """A tap handled before whose reply may have been lost (the bot died between the commit
    and the reply): the poll as it stands now, changing nothing. The tapped message then
    shows the current question, or the thanks if it was submitted, instead of buttons that
    have become stale."""
    response = await _tapped(uow, who, tap)
    if isinstance(response, Reply):
        return response
    if response.status != ResponseStatus.COMPLETED:
        survey = await who.catalog.get(uow, response.campaign.survey_id)
        return Reply(response.language,
                     screen=_screen(survey, response, _state(survey, response)))
    if response.person_id is not None:
        return Reply(response.language, submitted=True, notice="thanks.self_assessment",
                     params={"period": assessment_period(response.campaign)})
    survey = await who.catalog.get(uow, response.campaign.survey_id)
    return Reply(response.language, submitted=True, case_offer=_case_offer(
        who, survey, response.campaign, _state(survey, response).answers),
        public_unit=(_public_unit(response.campaign, response.language)
                     if response.campaign.audience == "residents" else None))


def _public_unit(campaign: Campaign, lang: str) -> tuple[str, str]:
    """The poll's unit (code, name), whose public page the thanks may link to: results and
    "you said, we did" of the place, the same for everyone, so it tells nothing of whoever
    follows the link."""
    return campaign.unit.code, display_name(campaign.unit, lang)


async def replay_typed(uow: UnitOfWork, who: Respondent) -> Reply:
    """A typed answer handled before whose reply may have been lost: the current question
    (or the summary) again, changing nothing. Without a poll in progress, nothing: the poll
    was submitted since, or the text was another dialogue's (a cadre's note)."""
    contact = await _contact(uow, who)
    lang = resolve_language(contact, who.client_language, who.default_language)
    active = await _active(uow, who)
    if active is None:
        return Reply(lang)
    _campaign, response, survey, session = active
    return Reply(lang, screen=_screen(survey, response, _state(survey, response)),
                 retire_message_id=session.prompt_message_id)


async def _self_assessed(uow: UnitOfWork, response: Response, campaign: Campaign,
                         lang: str) -> Reply:
    """A cadre submitted a self-assessment: audited under their name, thanked for the period.
    No offer to follow the unit: that is for residents."""
    period = assessment_period(campaign)
    await uow.audit.record(
        f"person:{response.person_id}", "self_assessment.submit", "response", response.id,
        after={"person": response.person_id, "campaign": campaign.code, "period": period},
    )
    return Reply(lang, submitted=True, notice="thanks.self_assessment",
                 params={"period": period})


async def _apply_tap(
    uow: UnitOfWork, who: Respondent, survey: Survey, response: Response, state: State,
    tap: Tap, lang: str,
) -> Reply:
    question = engine.current_question(survey, state)
    if tap.action == "e":
        if question is not None:
            return Reply(lang, notice="stale", only_notice=True)
        return Reply(lang, screen=_screen(survey, response, state, picking=True))
    if tap.action == "m":
        if question is not None:
            return Reply(lang, notice="stale", only_notice=True)
        return Reply(lang, screen=_screen(survey, response, state))
    if tap.action == "u":
        return await _submit(uow, who, survey, response, state, lang)
    if tap.action == "b":
        return await _move(uow, survey, response, engine.back(survey, state), lang)
    if tap.action == "g":
        visible = engine.visible_questions(survey, state.answers)
        if question is not None or tap.arg is None or not 0 <= tap.arg < len(visible):
            return Reply(lang, notice="stale", only_notice=True)
        return await _move(uow, survey, response, engine.goto(survey, state, visible[tap.arg].id),
                           lang)
    if question is None:
        return Reply(lang, notice="stale", only_notice=True)
    if tap.action == "s":
        return await _record(uow, survey, response, question, engine.skip(survey, state), lang)
    if tap.action == "t":
        if question.type != "multi" or not question.options or tap.arg is None:
            return Reply(lang, notice="stale", only_notice=True)
        if not 0 <= tap.arg < len(question.options):
            return Reply(lang, notice="forged", only_notice=True)
        current = _screen(survey, response, state).draft
        draft = engine.toggle(survey, state, current, question.options[tap.arg].value)
        if not await uow.responses.advance(
            response, current_question=state.current, draft=list(draft)
        ):
            return Reply(lang, notice="stale", only_notice=True)
        return Reply(lang, screen=_screen(survey, response, state))
    if tap.action == "d":
        if question.type != "multi":
            return Reply(lang, notice="stale", only_notice=True)
        value: AnswerValue = list(_screen(survey, response, state).draft)
    elif tap.action == "v":
        value = _button_value(question, tap.arg)
    else:
        return Reply(lang, notice="forged", only_notice=True)
    return await _record(uow, survey, response, question, engine.answer(survey, state, value), lang)


def _button_value(question: Question, arg: int | None) -> AnswerValue:
    """Map a button's small integer back to an answer; out-of-range means a forged button."""
    if arg is None:
        raise InvalidAnswer("forged", {})
    if question.type == "yesno":
        if arg not in (0, 1):
            raise InvalidAnswer("forged", {})
        return bool(arg)
    if question.type == "single":
        options = question.options or []
        if not 0 <= arg < len(options):
            raise InvalidAnswer("forged", {})
        return options[arg].value
    if question.type in ("rating", "nps"):
        return arg
    raise InvalidAnswer("forged", {})


async def _record(
    uow: UnitOfWork, survey: Survey, response: Response, question: Question, new: State,
    lang: str, retire: int | None = None,
) -> Reply:
    if not await uow.responses.advance(response, current_question=new.current, draft=None):
        return Reply(lang, notice="stale", only_notice=True)
    await uow.responses.save_answer(response, to_row(question, new.answers.get(question.id)))
    return Reply(lang, screen=_screen(survey, response, new), retire_message_id=retire)


async def _move(
    uow: UnitOfWork, survey: Survey, response: Response, new: State, lang: str
) -> Reply:
    if not await uow.responses.advance(response, current_question=new.current, draft=None):
        return Reply(lang, notice="stale", only_notice=True)
    return Reply(lang, screen=_screen(survey, response, new))


async def _submit(
    uow: UnitOfWork, who: Respondent, survey: Survey, response: Response, state: State,
    lang: str,
) -> Reply:
    if state.current is not None:
        return Reply(lang, notice="stale", only_notice=True)
    final = engine.final_answers(survey, state)  # raises InvalidAnswer("required") if incomplete
    hidden = {a.question_id for a in response.answers} - set(final)
    if not await uow.responses.advance(response, current_question=None, draft=None,
                                       completed=who.completion(response)):
        return Reply(lang, notice="stale", only_notice=True)
    await uow.responses.drop_answers(response, hidden)
    return Reply(lang, submitted=True,
                 case_offer=_case_offer(who, survey, response.campaign, final))


def _case_offer(who: Respondent, survey: Survey, campaign: Campaign,
                answers: Mapping[str, AnswerValue]) -> CaseOffer | None:
    """Offer to report a problem after a low rating, to residents only (a self-assessment
    is a cadre's, named). The offer names the unit, never this response or campaign."""
    if campaign.audience != "residents" or not survey.anonymous:
        return None
    return poll_offer(survey, answers, campaign.unit_id, who.case_offer_at)


async def typed(uow: UnitOfWork, who: Respondent, text: str) -> Reply:
    """The person typed a message: an answer to the current question, if one is waiting.

    The very first message of someone new ("hello") gets what ``/start`` gives: the welcome
    and the choice of places to hear from.
    """
    contact, first = await uow.contacts.join(who.telegram_user_id, who.chat_id)
    lang = resolve_language(contact, who.client_language, who.default_language)
    if first:
        contact.language = lang
        return await _welcome(uow, who, contact, lang, unknown=False)
    active = await _active(uow, who)
    if active is None:
        return Reply(lang, notice="no_active_poll")
    campaign, response, survey, session = active
    if not is_open(campaign, who.now):
        await uow.sessions.end(who.session)
        return Reply(lang, notice="closed", params={"unit": display_name(campaign.unit, lang)})
    state = _state(survey, response)
    question = engine.current_question(survey, state)
    if question is None:
        return Reply(lang, notice="at_summary")
    try:
        value = engine.parse_text(question, text)
        new = engine.answer(survey, state, value)
    except InvalidAnswer as exc:
        return Reply(lang, notice=f"invalid.{exc.code}", params=dict(exc.params))
    return await _record(uow, survey, response, question, new, lang,
                         retire=session.prompt_message_id)


async def cancel(uow: UnitOfWork, who: Respondent) -> Reply:
    """``/cancel``: withdraw the unfinished poll and delete its answers."""
    contact = await _contact(uow, who)
    lang = resolve_language(contact, who.client_language, who.default_language)
    active = await _active(uow, who)
    retire = await uow.sessions.end(who.session)
    if active is None:
        return Reply(lang, notice="nothing_to_cancel", retire_message_id=retire)
    _campaign, response, _survey, _session = active
    if not await uow.responses.delete_in_progress(response):
        # A Submit landed first: the answers are in, nothing to withdraw.
        return Reply(lang, notice="already_submitted", retire_message_id=retire)
    return Reply(lang, notice="cancelled", retire_message_id=retire)


async def ask_cancel(uow: UnitOfWork, who: Respondent) -> Reply:
    """``/cancel``: nothing is deleted yet; the person confirms (or keeps going) with buttons
    that name this response at its current step, so a later answer makes them stale."""
    contact = await _contact(uow, who)
    active = await _active(uow, who)
    if active is None:
        return await cancel(uow, who)
    campaign, response, survey, _session = active
    lang = resolve_language(contact, who.client_language, who.default_language)
    screen = _screen(survey, response, _state(survey, response))
    return Reply(lang, notice="cancel.confirm", withdraw=screen, params={
        "title": survey.title.get(lang), "unit": display_name(campaign.unit, lang),
        "answered": screen.progress.answered,
    })


async def settle_cancel(
    uow: UnitOfWork, who: Respondent, response_id: int, step: int, withdraw: bool
) -> Reply:
    """A tap on /cancel's confirmation: withdraw the answers, or show the current question.

    Only the person's current poll, still at the step the confirmation was asked at, is
    touched; anything else (an older confirmation, someone else's response) changes nothing.
    """
    contact = await _contact(uow, who)
    lang = resolve_language(contact, who.client_language, who.default_language)
    active = await _active(uow, who)
    if active is None or active[1].id != response_id or active[1].step != step:
        return Reply(lang, notice=await _why_not_current(uow, who, response_id),
                     only_notice=True)
    if withdraw:
        return await cancel(uow, who)
    _campaign, response, survey, session = active
    return Reply(lang, notice="cancel.kept",
                 screen=_screen(survey, response, _state(survey, response)),
                 retire_message_id=session.prompt_message_id)


async def _why_not_current(uow: UnitOfWork, who: Respondent, response_id: int) -> str:
    """Why a confirmation button no longer applies: not theirs, submitted since, or stale."""
    known = parse_id(response_id, RESPONSE_ID_MAX)
    response = await uow.responses.get_with_campaign(known) if known is not None else None
    if response is None:
        return "stale"
    key = respondent_key(who.secret, response.campaign.id, who.telegram_user_id)
    if response.respondent_key != key:
        return "forged"
    if response.status == ResponseStatus.COMPLETED:
        return "already_submitted"
    return "stale"


async def set_language(uow: UnitOfWork, who: Respondent, lang: str | None) -> Reply:
    """``/language``: with no choice, ask; with one, store it and show the current poll again."""
    contact = await _contact(uow, who)
    if lang is None or lang not in LANGUAGES:
        current = resolve_language(contact, who.client_language, who.default_language)
        return Reply(current, notice="choose_language")
    contact.language = lang
    active = await _active(uow, who)
    if active is None:
        return Reply(lang, notice="language_set")
    _campaign, response, survey, session = active
    await uow.responses.set_language(response, lang)
    return Reply(
        lang,
        notice="language_set",
        screen=_screen(survey, response, _state(survey, response)),
        retire_message_id=session.prompt_message_id,
    )


async def stop_invitations(uow: UnitOfWork, who: Respondent) -> Reply:
    """``/stop``: no more invitations or reminders; links still work."""
    contact = await _contact(uow, who)
    contact.opted_out = True
    return Reply(resolve_language(contact, who.client_language, who.default_language),
                 notice="stopped")


async def invitation_on_its_way(uow: UnitOfWork, who: Respondent) -> bool:
    """Whether an invitation or reminder to the person was handed to Telegram before their
    ``/stop`` and is not yet through (the reply to ``/stop`` waits for it)."""
    contact = await uow.contacts.by_user(who.telegram_user_id)
    return contact is not None and await uow.outbox.sending_to(contact.id)


async def set_reachable(uow: UnitOfWork, who: Respondent, reachable: bool) -> None:
    """The person blocked or unblocked the bot (or a send was refused with 403)."""
    contact = await _contact(uow, who)
    contact.unreachable = not reachable


async def help_reply(uow: UnitOfWork, who: Respondent) -> Reply:
    """The help text; people with roles also get their roles' commands (params["roles"])."""
    contact = await _contact(uow, who)
    person = await uow.people.by_user(who.telegram_user_id)
    held = {r.role for r in person.roles} if person is not None else set()
    roles = tuple(role.value for role in Role if role in held)
    return Reply(resolve_language(contact, who.client_language, who.default_language),
                 notice="help", params={"roles": roles})


async def remember_prompt(uow: UnitOfWork, who: Respondent, message_id: int) -> None:
    """Keep the id of the message that shows the current question, to retire it later."""
    await uow.sessions.set_prompt(who.session, message_id)
