"""The resident journey's words: who is acting, and what each step answers with.

A :class:`Respondent` is the resident as Telegram tells it; a :class:`Reply` is what to show
after a use case of :mod:`surveys.respondents.responding` (answering polls) or
:mod:`surveys.respondents.following` (choosing the units to hear from). Both modules use
these, so they live apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.models import Response
from storage.responses import Completion
from surveys.cases.offer import CaseOffer
from surveys.fieldwork import cadres
from surveys.questionnaire import engine
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.questionnaire.engine import Progress, State
from surveys.questionnaire.schema import Question, Survey
from surveys.respondents.anonymity import DEFAULT_RESOLUTION, coarse, open_time, session_key


@dataclass(frozen=True)
class Respondent:
    """Who is acting, as Telegram tells it; only used to find their contact and key."""

    telegram_user_id: int
    chat_id: int
    client_language: str | None
    secret: bytes = field(repr=False)
    catalog: SurveyCatalog = field(repr=False)
    now: datetime
    default_language: str = "en"
    # How finely a response's times are kept (surveys.respondents.anonymity.coarse).
    time_resolution: timedelta = DEFAULT_RESOLUTION
    # A rating at or below this, on a question that can open a case, offers to report a
    # problem after submitting (None: never).
    case_offer_at: int | None = None

    @property
    def session(self) -> str:
        """The key of the row that says which poll this person is answering now."""
        return session_key(self.secret, self.telegram_user_id)

    def completion(self, response: Response) -> Completion:
        """When (coarsely) and after how long (exactly) ``response`` is completed now."""
        begun = open_time(self.secret, response.respondent_key, response.sealed_start)
        duration = (max(0, round((self.now - begun).total_seconds()))
                    if begun is not None else None)
        return Completion(coarse(self.now, self.time_resolution), duration)


@dataclass(frozen=True)
class Intro:
    survey: Survey
    unit_name: str
    closes_at: datetime | None
    questions: int  # the steps the progress marker counts (a follow-up is part of a step)
    # False for a cadre's self-assessment: the answers are tied to them, and the intro must
    # not promise anonymity.
    anonymous: bool = True


@dataclass(frozen=True)
class Screen:
    """The current step of a response: a question, or the summary when ``question`` is None."""

    response_id: int
    step: int
    survey: Survey
    state: State
    question: Question | None
    progress: Progress
    draft: tuple[str, ...] = ()
    picking: bool = False  # the summary's "which answer do you want to change?" list

    @property
    def can_go_back(self) -> bool:
        visible = engine.visible_questions(self.survey, self.state.answers)
        return bool(visible) and (self.question is None or visible[0].id != self.question.id)


@dataclass(frozen=True)
class Reply:
    lang: str
    notice: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    intro: Intro | None = None
    screen: Screen | None = None
    submitted: bool = False
    # The message showing the previous prompt, whose buttons should now be removed.
    retire_message_id: int | None = None
    # True when nothing changed and the reply is only a notice (a toast for a button).
    only_notice: bool = False
    # The places the person may choose to hear from (first join, /units).
    picker: Picker | None = None
    # After a first poll: offer invitations about its unit (unit id, unit name).
    follow_offer: tuple[int, str] | None = None
    # After a low rating: offer to report the problem (surveys.cases.offer).
    case_offer: CaseOffer | None = None
    # The cadre's profile, after opening their invite link (linked now or already).
    cadre: cadres.Profile | None = None
    # /cancel: the poll whose answers would be withdrawn, to confirm first.
    withdraw: Screen | None = None
    # After a resident's poll: its unit (code, name), to link to the unit's public page.
    public_unit: tuple[str, str] | None = None


@dataclass(frozen=True)
class UnitChoice:
    id: int
    name: str
    has_children: bool
    chosen: bool


@dataclass(frozen=True)
class Picker:
    """One page of units under ``parent_id`` (None: the top level), each ticked or not."""

    parent_id: int | None
    up_id: int | None  # where "Up" leads (None: the top level)
    parent_name: str | None
    choices: tuple[UnitChoice, ...]
    page: int
    pages: int
