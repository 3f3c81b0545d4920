"""The questionnaire engine: pure functions from (survey, state, input) to a new state.

Nothing here keeps state between calls or touches I/O; the conversation state lives in the
database (one row per answer plus the current question id) and is rebuilt with
:func:`restore`. Invalid input raises :class:`InvalidAnswer` and never changes a state (states
are immutable), so a handler can show the reason and ask again.

Flow rules:
  * A question is visible when it has no ``show_if`` or its condition holds on the answers to
    *visible* earlier questions; an answer hidden by a later change is kept but ignored.
  * After an answer or a skip, the next question is the first visible unanswered question
    after the current one, else the first visible unanswered question anywhere, else the
    summary (``current is None``). So Back-then-answer continues where the respondent left
    off, and changing an answer from the summary returns to the summary.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from surveys.questionnaire.schema import SCALE_RANGES, AnswerValue, Question, Survey
from surveys.text import BlankText, require_text

__all__ = [
    "InvalidAnswer",
    "Progress",
    "State",
    "answer",
    "back",
    "current_question",
    "final_answers",
    "goto",
    "is_complete",
    "parse_text",
    "progress",
    "restore",
    "skip",
    "start",
    "step_numbers",
    "toggle",
    "validate",
    "visible_questions",
]


@dataclass(frozen=True)
class State:
    """Where a respondent is in a survey.

    Attributes:
        answers: Answers by question id; ``None`` means skipped. May hold answers to questions
            that are hidden now; they are kept in case the respondent changes their mind.
        current: The id of the question being asked, or None when all visible questions are
            dealt with and the summary is shown.
    """

    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    current: str | None = None

    def __post_init__(self) -> None:
        # Copy (lists too) and freeze, so no caller can change a state after the fact.
        frozen = {k: list(v) if isinstance(v, list) else v for k, v in self.answers.items()}
        object.__setattr__(self, "answers", MappingProxyType(frozen))


class InvalidAnswer(Exception):
    """An answer or operation that is not accepted.

    Attributes:
        code: A stable machine-readable reason, used by handlers to pick a localized message:
            ``required``, ``out_of_range``, ``too_long``, ``empty``, ``invisible`` (only
            invisible or control characters), ``not_a_number``,
            ``not_an_integer``, ``unknown_option``, ``too_few_choices``, ``too_many_choices``,
            ``expects_button``, ``not_current``, ``no_such_question``.
        params: Details for the message, e.g. ``{"min": 1, "max": 5}``.
    """

    def __init__(
        self, code: str, params: Mapping[str, object] | None = None, **more: object
    ) -> None:
        merged: dict[str, object] = {**(params or {}), **more}
        details = ", ".join(f"{k}={v!r}" for k, v in merged.items())
        super().__init__(f"{code} ({details})" if details else code)
        self.code = code
        self.params = merged


@dataclass(frozen=True)
class Progress:
    """How far a respondent is, as the "2/5" on each question shows it.

    The count is of *steps*: a question without ``show_if`` is a step, and a conditional
    question (a follow-up such as "what went wrong?") belongs to the step before it. So the
    total is the same from the first question to the summary, whatever is answered (it never
    jumps from 1/5 to 2/6 when a follow-up appears), a follow-up shows its step's number, and
    the number never goes down while moving forward nor up by more than one per answer.

    Attributes:
        position: 1-based step of the current question; equal to ``total`` on the summary.
        total: Number of steps (questions without ``show_if``), fixed for a survey.
        answered: Visible questions with a (non-skipped) answer.
        done: True on the summary (no current question).
    """

    position: int
    total: int
    answered: int
    done: bool = False


# --- visibility and navigation -------------------------------------------------------------


def visible_questions(survey: Survey, answers: Mapping[str, AnswerValue]) -> list[Question]:
    """Return the questions shown for these answers, in definition order.

    Args:
        survey: The survey.
        answers: Answers by question id (``None`` = skipped).

    Returns:
        The visible questions. Conditions only see answers to visible questions, so hiding a
        question also hides the questions that depend on it.
    """
    seen: dict[str, AnswerValue] = {}
    visible: list[Question] = []
    for q in survey.questions:
        if q.show_if is None or q.show_if.evaluate(seen):
            visible.append(q)
            if q.id in answers:
                seen[q.id] = answers[q.id]
    return visible


def _visible_by_id(survey: Survey, answers: Mapping[str, AnswerValue]) -> dict[str, Question]:
    return {q.id: q for q in visible_questions(survey, answers)}


def _next_question(
    survey: Survey, answers: Mapping[str, AnswerValue], after: str | None
) -> str | None:
    """Apply the advance rule: next unanswered after ``after``, else the first unanswered."""
    order = {qid: i for i, qid in enumerate(survey.question_ids())}
    pending = [q.id for q in visible_questions(survey, answers) if q.id not in answers]
    if after is not None and after in order:
        later = [qid for qid in pending if order[qid] > order[after]]
        if later:
            return later[0]
    return pending[0] if pending else None


def start(survey: Survey) -> State:
    """Return the state of a respondent who has just begun.

    Args:
        survey: The survey.

    Returns:
        A state with no answers whose current question is the first visible one.
    """
    return State({}, _next_question(survey, {}, None))


def current_question(survey: Survey, state: State) -> Question | None:
    """Return the question being asked, or None on the summary.

    Args:
        survey: The survey.
        state: The respondent's state.

    Returns:
        The current question if it exists and is visible, else None.
    """
    if state.current is None:
        return None
    return _visible_by_id(survey, state.answers).get(state.current)


def _require_current(survey: Survey, state: State, question_id: str | None) -> Question:
    if question_id is not None:
        if survey.get_question(question_id) is None:
            raise InvalidAnswer("no_such_question", question_id=question_id)
        if question_id != state.current:
            raise InvalidAnswer("not_current", question_id=question_id, current=state.current)
    question = current_question(survey, state)
    if question is None:
        raise InvalidAnswer("not_current", question_id=question_id, current=state.current)
    return question


def answer(
    survey: Survey, state: State, value: AnswerValue, *, question_id: str | None = None
) -> State:
    """Record an answer to the current question and move on.

    Args:
        survey: The survey.
        state: The respondent's state.
        value: A typed value (see :func:`validate`); ``None`` skips the question.
        question_id: The question the answer was given for, if known (e.g. from a button's
            callback data). A stale button for another question raises ``not_current``.

    Returns:
        The new state.

    Raises:
        InvalidAnswer: If there is no current question, the question is not the current one,
            or the value is not valid for it.
    """
    question = _require_current(survey, state, question_id)
    clean = validate(question, value)
    answers = dict(state.answers)
    answers[question.id] = clean
    return State(answers, _next_question(survey, answers, question.id))


def skip(survey: Survey, state: State, *, question_id: str | None = None) -> State:
    """Skip the current question (optional questions only) and move on.

    Args:
        survey: The survey.
        state: The respondent's state.
        question_id: The question the skip was given for, if known.

    Returns:
        The new state, with ``None`` recorded for the question.

    Raises:
        InvalidAnswer: ``required`` for a required question, ``not_current`` without a current
            question.
    """
    return answer(survey, state, None, question_id=question_id)


def back(survey: Survey, state: State) -> State:
    """Go to the previous visible question, keeping every answer.

    Args:
        survey: The survey.
        state: The respondent's state.

    Returns:
        The state on the previous visible question; from the summary, on the last visible
        question; on the first question, the same state.
    """
    visible = [q.id for q in visible_questions(survey, state.answers)]
    if state.current is None:
        return State(state.answers, visible[-1]) if visible else state
    if state.current not in visible:
        # Not reachable through this API; repair rather than strand the respondent.
        return restore(survey, state.answers, state.current)
    index = visible.index(state.current)
    return state if index == 0 else State(state.answers, visible[index - 1])


def goto(survey: Survey, state: State, question_id: str) -> State:
    """Make a visible question current, e.g. to change an answer from the summary.

    Args:
        survey: The survey.
        state: The respondent's state.
        question_id: The question to go to.

    Returns:
        The state on that question; answers are unchanged.

    Raises:
        InvalidAnswer: ``no_such_question`` if the survey has no such question or it is
            hidden for these answers.
    """
    if survey.get_question(question_id) is None:
        raise InvalidAnswer("no_such_question", question_id=question_id)
    if question_id not in _visible_by_id(survey, state.answers):
        raise InvalidAnswer("no_such_question", question_id=question_id, hidden=True)
    return State(state.answers, question_id)


def toggle(
    survey: Survey,
    state: State,
    draft: Sequence[str],
    option: str,
    *,
    question_id: str | None = None,
) -> list[str]:
    """Select or deselect one option in a multi-choice draft (before it is submitted).

    Args:
        survey: The survey.
        state: The respondent's state; the current question must be multi-choice.
        draft: The options selected so far (unknown or repeated values are dropped).
        option: The option tapped.
        question_id: The question the tap was for, if known.

    Returns:
        The new selection, in option order.

    Raises:
        InvalidAnswer: ``not_current`` if the current question is not multi-choice,
            ``unknown_option`` for an option it does not have, ``too_many_choices`` when
            selecting more than ``max_choices``.
    """
    question = _require_current(survey, state, question_id)
    if question.type != "multi":
        raise InvalidAnswer("not_current", question_id=question.id, current=state.current)
    values = question.option_values()
    if option not in values:
        raise InvalidAnswer("unknown_option", value=option, options=values)
    chosen = {v for v in draft if v in values}
    if option in chosen:
        chosen.remove(option)
    else:
        _, high = question.choice_limits()
        if len(chosen) >= high:
            raise InvalidAnswer("too_many_choices", max=high)
        chosen.add(option)
    return [v for v in values if v in chosen]


def progress(survey: Survey, state: State) -> Progress:
    """Return the respondent's step (see :class:`Progress`); answers to hidden questions do not
    count.

    Args:
        survey: The survey.
        state: The respondent's state.

    Returns:
        The progress; ``1 <= position <= total`` always holds.
    """
    visible = [q.id for q in visible_questions(survey, state.answers)]
    steps = step_numbers(survey)
    total = max(steps.values(), default=1)
    answered = sum(1 for qid in visible if state.answers.get(qid) is not None)
    if state.current is None or state.current not in visible:
        return Progress(position=total, total=total, answered=answered, done=state.current is None)
    return Progress(position=steps[state.current], total=total, answered=answered)


def step_numbers(survey: Survey) -> dict[str, int]:
    """The step each question is shown as: its own for an unconditional question, the one
    before it for a conditional one (never below 1)."""
    numbers: dict[str, int] = {}
    step = 0
    for q in survey.questions:
        if q.show_if is None:
            step += 1
        numbers[q.id] = max(step, 1)
    return numbers


def _missing_required(survey: Survey, answers: Mapping[str, AnswerValue]) -> list[str]:
    return [
        q.id for q in visible_questions(survey, answers) if q.required and answers.get(q.id) is None
    ]


def is_complete(survey: Survey, state: State) -> bool:
    """Return whether every visible required question has an answer.

    Args:
        survey: The survey.
        state: The respondent's state.

    Returns:
        True if the response can be submitted.
    """
    return not _missing_required(survey, state.answers)


def final_answers(survey: Survey, state: State) -> dict[str, AnswerValue]:
    """Return the answers to submit: one entry per visible question.

    Args:
        survey: The survey.
        state: The respondent's state.

    Returns:
        Answers by question id for every visible question, ``None`` for skipped or unanswered
        optional ones; answers to hidden questions are left out.

    Raises:
        InvalidAnswer: ``required`` (with ``question_id``) if a required question is unanswered.
    """
    missing = _missing_required(survey, state.answers)
    if missing:
        raise InvalidAnswer("required", question_id=missing[0], missing=missing)
    return {q.id: state.answers.get(q.id) for q in visible_questions(survey, state.answers)}


def restore(
    survey: Survey, answers: Mapping[str, AnswerValue], current: str | None
) -> State:
    """Rebuild a state from stored answers and current question id, repairing what is off.

    Answers to unknown questions, and answers no longer valid for their question (including a
    skip of a required question), are dropped. ``current`` is kept if it is a visible question
    or None with nothing left to ask; otherwise it is recomputed as the first visible
    unanswered question.

    Args:
        survey: The survey version the answers were given for.
        answers: Stored answers by question id.
        current: The stored current question id.

    Returns:
        A consistent state; for a state produced by this module,
        ``restore(survey, state.answers, state.current) == state``.
    """
    kept: dict[str, AnswerValue] = {}
    for question in survey.questions:
        if question.id not in answers:
            continue
        try:
            kept[question.id] = validate(question, answers[question.id])
        except InvalidAnswer:
            continue
    visible = _visible_by_id(survey, kept)
    pending = [qid for qid in visible if qid not in kept]
    if current is not None and current in visible:
        return State(kept, current)
    if current is None and not pending:
        return State(kept, None)
    return State(kept, pending[0] if pending else None)


# --- validating typed values ---------------------------------------------------------------


def _check_range(question: Question, number: float) -> None:
    bounds = question.value_range()
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        low, high = bounds
        raise InvalidAnswer(
            "out_of_range",
            min=int(low) if low.is_integer() else low,
            max=int(high) if high.is_integer() else high,
        )


def _validate_number(question: Question, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAnswer("not_a_number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidAnswer("not_a_number")
    whole = float(value).is_integer()
    if (question.type in SCALE_RANGES or question.integer) and not whole:
        raise InvalidAnswer("not_an_integer")
    _check_range(question, float(value))
    if question.type in SCALE_RANGES or question.integer:
        return int(value)
    return float(value)


def validate(question: Question, value: object) -> AnswerValue:
    """Check a typed value (e.g. from a button) and return its canonical form.

    Canonical forms: rating and nps ``int``; number ``int`` or ``float`` (per ``integer``);
    single the option value; multi the option values in option order; yesno ``bool``; text
    the stripped text; ``None`` for a skip.

    Args:
        question: The question answered.
        value: The value to check.

    Returns:
        The canonical answer value.

    Raises:
        InvalidAnswer: With a code saying what is wrong (see :class:`InvalidAnswer`).
    """
    if value is None:
        if question.required:
            raise InvalidAnswer("required", question_id=question.id)
        return None
    kind = question.type
    if kind in ("rating", "nps", "number"):
        return _validate_number(question, value)
    if kind == "yesno":
        if not isinstance(value, bool):
            raise InvalidAnswer("expects_button")
        return value
    if kind == "single":
        if not isinstance(value, str) or value not in question.option_values():
            raise InvalidAnswer("unknown_option", value=value, options=question.option_values())
        return value
    if kind == "multi":
        return _validate_multi(question, value)
    # text
    if not isinstance(value, str):
        raise InvalidAnswer("empty")
    try:
        # The one rule for typed text (surveys.text): NFC, no control characters, and
        # something visible (a comment of zero-width spaces is no comment).
        text = require_text(value)
    except BlankText as blank:
        raise InvalidAnswer(blank.reason) from None
    if len(text) > question.text_limit():
        # len() counts code points, which is what the limit is defined in.
        raise InvalidAnswer("too_long", max_length=question.text_limit(), length=len(text))
    return text


def _validate_multi(question: Question, value: object) -> list[str]:
    items: list[object]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise InvalidAnswer("unknown_option", value=value, options=question.option_values())
    values = question.option_values()
    for item in items:
        if not isinstance(item, str) or item not in values:
            raise InvalidAnswer("unknown_option", value=item, options=values)
    chosen = [v for v in values if v in items]
    low, high = question.choice_limits()
    if len(chosen) < low:
        raise InvalidAnswer("too_few_choices", min=low)
    if len(chosen) > high:
        raise InvalidAnswer("too_many_choices", max=high)
    return chosen


# --- parsing typed text --------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
    "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
}
_NUMBER = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+"
_WORDS = "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
# A number, optionally "out of" a scale ("4/5") and a short unit ("stars", "星", "分", "项").
_NUMBER_TEXT = re.compile(
    rf"^(?P<num>{_NUMBER}|{_WORDS})\s*(?:/\s*\d+)?\s*(?P<unit>[^\W\d_]{{1,12}}(?:\s[^\W\d_]{{1,12}})?)?$"
)
_STARS = set("★⭐🌟")
_TRAILING_PUNCT = ".!。！~～"
_YES = {"yes", "y", "yeah", "yep", "true", "是", "是的", "对", "对的", "好", "好的", "嗯", "有",
        "需要", "👍", "✅", "✔", "✓"}
_NO = {"no", "n", "nope", "false", "否", "不", "不是", "没有", "没", "无", "不需要", "不用",
       "👎", "❌", "✖", "✗"}
_LIST_SEPARATORS = re.compile(r"\s*[,，、;；]\s*|\s+(?:and|和)\s+")


def _normalize(text: str) -> str:
    # NFKC turns full-width digits and letters ("４", "ｙｅｓ") into their ASCII forms.
    folded = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").strip()
    return folded.rstrip(_TRAILING_PUNCT).strip().casefold()


def _parse_decimal(text: str) -> Decimal | None:
    """Read a number typed by a person ("12", "1,200", "4.5", "4 stars", "四"), or None."""
    if len(text) > 40:
        return None
    if text and all(ch in _STARS or ch.isspace() for ch in text):
        return Decimal(sum(1 for ch in text if ch in _STARS))
    match = _NUMBER_TEXT.match(text)
    if match is None:
        return None
    raw = match["num"]
    if raw in _NUMBER_WORDS:
        return Decimal(_NUMBER_WORDS[raw])
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return None


def _parse_number_text(question: Question, text: str) -> int | float:
    number = _parse_decimal(text)
    if number is None:
        # On a rating scale the respondent should tap a star; elsewhere typing is expected.
        raise InvalidAnswer("expects_button" if question.type in SCALE_RANGES else "not_a_number")
    whole = number == number.to_integral_value()
    if (question.type in SCALE_RANGES or question.integer) and not whole:
        raise InvalidAnswer("not_an_integer")
    value: int | float = int(number) if whole else float(number)
    return _validate_number(question, value)


def _match_option(question: Question, text: str) -> str | None:
    options = question.options or []
    if text.isdigit() and text.isascii():
        index = int(text)
        if 1 <= index <= len(options):
            return options[index - 1].value
        raise InvalidAnswer("unknown_option", value=text, options=question.option_values())
    for option in options:
        names = (option.value, _normalize(option.label.en), _normalize(option.label.zh))
        if text in names:
            return option.value
    return None


def parse_text(question: Question, text: str) -> AnswerValue:
    """Read a typed message as an answer to ``question``.

    Accepts ``"4"``, ``"4 stars"``, ``"４"``, ``"四星"`` or ``"★★★★"`` on ratings; numbers on
    nps and number questions (``"1,200"``, ``"12 项"``); yes/no/y/n/是/否/对/不 on yes/no
    questions; an option's number (1-based), label (English or Chinese, any case) or value on
    choice questions, several separated by commas on multi-choice; the text itself on text
    questions.

    Args:
        question: The question being asked.
        text: The message text.

    Returns:
        The canonical answer value, as :func:`validate` would return it.

    Raises:
        InvalidAnswer: ``empty`` for blank text, ``expects_button`` when the text cannot be
            read as a button answer, or any code :func:`validate` raises.
    """
    if question.type == "text":
        return validate(question, text)
    normalized = _normalize(text)
    if not normalized:
        raise InvalidAnswer("empty")
    kind = question.type
    if kind in ("rating", "nps", "number"):
        return _parse_number_text(question, normalized)
    if kind == "yesno":
        if normalized in _YES:
            return True
        if normalized in _NO:
            return False
        raise InvalidAnswer("expects_button")
    if kind == "single":
        value = _match_option(question, normalized)
        if value is None:
            raise InvalidAnswer("expects_button")
        return value
    # multi: try the whole text first, since a label may itself contain a separator.
    whole = _match_option_quietly(question, normalized)
    if whole is not None:
        return _validate_multi(question, [whole])
    chosen: list[str] = []
    for part in _LIST_SEPARATORS.split(normalized):
        if not part:
            continue
        value = _match_option(question, part)
        if value is None:
            raise InvalidAnswer("expects_button")
        chosen.append(value)
    return _validate_multi(question, chosen)


def _match_option_quietly(question: Question, text: str) -> str | None:
    try:
        return _match_option(question, text)
    except InvalidAnswer:
        return None
