"""Questionnaire schema: the typed, validated form of a survey YAML file.

Every model is frozen and rejects unknown keys, so a typo in a YAML file is an error rather than
a silently ignored setting. Rules that span several fields or questions are checked in model
validators and reported as ``survey_rules`` errors whose context names the question concerned;
the loader turns those into file/question messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: A canonical answer value as stored (JSON-serialisable); ``None`` means "skipped".
AnswerValue: TypeAlias = int | float | str | bool | list[str] | None

QuestionType: TypeAlias = Literal["rating", "nps", "single", "multi", "yesno", "text", "number"]

QUESTION_ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
OPTION_VALUE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SURVEY_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"

#: Fixed answer ranges of the scale question types.
SCALE_RANGES: dict[str, tuple[int, int]] = {"rating": (1, 5), "nps": (0, 10)}
DEFAULT_TEXT_MAX_LENGTH = 500
RESIDENT_MAX_QUESTIONS = 6
OPTION_LABEL_MAX_LENGTH = 80

#: The show_if operators each question type supports (``answered`` fits every type).
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "rating": ("equals", "not_equals", "in", "gte", "lte", "answered"),
    "nps": ("equals", "not_equals", "in", "gte", "lte", "answered"),
    "number": ("equals", "not_equals", "in", "gte", "lte", "answered"),
    "single": ("equals", "not_equals", "in", "answered"),
    "multi": ("contains", "answered"),
    "yesno": ("equals", "not_equals", "in", "answered"),
    "text": ("answered",),
}

RuleIssue: TypeAlias = tuple[str | None, str]


def rules_error(issues: list[RuleIssue]) -> PydanticCustomError:
    """Build the error raised by the cross-field validators.

    Args:
        issues: ``(question_id or None, reason)`` pairs; ``None`` means "the enclosing object".

    Returns:
        A ``survey_rules`` error whose context keeps the individual issues, so the loader can
        report each one against its question instead of one merged sentence.
    """
    summary = "; ".join(
        reason if qid is None else f"question {qid}: {reason}" for qid, reason in issues
    )
    return PydanticCustomError("survey_rules", "{summary}", {"summary": summary, "issues": issues})


class _Model(BaseModel):
    # validate_by_name lets Python code use ``in_`` while YAML uses ``in``.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


class LocalText(_Model):
    """A text in every supported language (English and Simplified Chinese)."""

    en: str = Field(max_length=4000)
    zh: str = Field(max_length=4000)

    @field_validator("en", "zh")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Strip so that YAML block scalars ("|") do not carry a trailing newline into messages.
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    def get(self, lang: str | None) -> str:
        """Return the text for a language code, falling back to English.

        Args:
            lang: A language code such as ``"zh"``, ``"zh-hans"`` or ``"en-GB"``; may be None.

        Returns:
            The Chinese text for any ``zh`` variant, otherwise the English text.
        """
        if lang and lang.lower().replace("_", "-").split("-")[0] == "zh":
            return self.zh
        return self.en


def _at_most(limit: int, what: str = "") -> AfterValidator:
    """Keep a text short enough that every screen built from it fits one Telegram message
    (``what``: why this limit, said after the message)."""
    def check(text: LocalText) -> LocalText:
        if max(len(text.en), len(text.zh)) > limit:
            raise ValueError(f"{'must be ' if what else ''}at most {limit} characters{what}")
        return text
    return AfterValidator(check)


class Option(_Model):
    """One choice of a single- or multi-choice question."""

    value: str = Field(pattern=OPTION_VALUE_PATTERN)
    # Labels are button captions; long ones are cut off by Telegram clients.
    label: Annotated[LocalText, _at_most(OPTION_LABEL_MAX_LENGTH, " (a button caption)")]


ConditionValue: TypeAlias = bool | int | float | str


def _same(answer: object, expected: object) -> bool:
    """Compare an answer with a condition value without Python's ``True == 1`` conflation."""
    if isinstance(answer, bool) or isinstance(expected, bool):
        return isinstance(answer, bool) and isinstance(expected, bool) and answer == expected
    return answer == expected


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Condition(_Model):
    """A ``show_if`` rule: show a question only if an earlier answer matches one operator."""

    question: str
    equals: ConditionValue | None = None
    not_equals: ConditionValue | None = None
    in_: list[ConditionValue] | None = Field(default=None, alias="in", min_length=1)
    gte: float | None = Field(default=None, allow_inf_nan=False)
    lte: float | None = Field(default=None, allow_inf_nan=False)
    answered: bool | None = None
    contains: str | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        used = self.operators()
        if len(used) != 1:
            found = ", ".join(used) if used else "none"
            raise rules_error(
                [(None, "show_if needs exactly one of equals, not_equals, in, gte, lte, "
                        f"answered, contains (found: {found})")]
            )
        return self

    def operators(self) -> list[str]:
        """Return the YAML names of the operators that are set."""
        names = ("equals", "not_equals", "in_", "gte", "lte", "answered", "contains")
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    @property
    def operator(self) -> str:
        """The YAML name of the single operator of this condition."""
        return self.operators()[0]

    def evaluate(self, answers: Mapping[str, AnswerValue]) -> bool:
        """Evaluate the condition against the answers given so far.

        Args:
            answers: Answers by question id; a missing key means unanswered, ``None`` skipped.

        Returns:
            Whether the condition holds. Unanswered or skipped questions make every operator
            false, except ``answered: false`` which is then true.
        """
        value = answers.get(self.question)
        if self.answered is not None:
            return (value is not None) == self.answered
        if value is None:
            return False
        if self.equals is not None:
            return _same(value, self.equals)
        if self.not_equals is not None:
            return not _same(value, self.not_equals)
        if self.in_ is not None:
            return any(_same(value, item) for item in self.in_)
        if self.gte is not None:
            return _is_number(value) and float(value) >= self.gte  # type: ignore[arg-type]
        if self.lte is not None:
            return _is_number(value) and float(value) <= self.lte  # type: ignore[arg-type]
        if self.contains is not None:
            return isinstance(value, list) and self.contains in value
        return False  # unreachable: _one_operator guarantees one operator


class Question(_Model):
    """One question; which optional fields apply depends on ``type``."""

    id: str = Field(pattern=QUESTION_ID_PATTERN)
    type: QuestionType
    text: Annotated[LocalText, _at_most(500)]
    required: bool = True
    show_if: Condition | None = None
    indicator: str | None = Field(default=None, pattern=QUESTION_ID_PATTERN)
    options: list[Option] | None = Field(default=None, min_length=2, max_length=10)
    min_choices: int | None = Field(default=None, ge=1, le=10)
    max_choices: int | None = Field(default=None, ge=1, le=10)
    max_length: int | None = Field(default=None, ge=1, le=4000)
    min: int | float | None = Field(default=None, allow_inf_nan=False)
    max: int | float | None = Field(default=None, allow_inf_nan=False)
    integer: bool = True
    hint: Annotated[LocalText, _at_most(300)] | None = None
    # A low rating here offers the resident to report a problem (surveys.cases.offer), of
    # this category (a theme topic; none: suggested from what they write).
    opens_case: bool = False
    case_category: str | None = Field(default=None, pattern=QUESTION_ID_PATTERN)

    @model_validator(mode="before")
    @classmethod
    def _text_default_length(cls, data: Any) -> Any:
        # Filled in before validation so that ``max_length`` is always an int on text questions
        # and the stored definition (and its checksum) states the limit that was applied.
        if isinstance(data, dict) and data.get("type") == "text" and data.get("max_length") is None:
            return {**data, "max_length": DEFAULT_TEXT_MAX_LENGTH}
        return data

    @model_validator(mode="after")
    def _fields_fit_type(self) -> Self:
        issues: list[RuleIssue] = []
        only_for = {
            "options": ("single", "multi"),
            "min_choices": ("multi",),
            "max_choices": ("multi",),
            "max_length": ("text",),
            "min": ("number",),
            "max": ("number",),
            "integer": ("number",),
        }
        for name, types in only_for.items():
            # Judged by value, not by presence: a dump of a valid survey (``integer: true``
            # and ``options: null`` on every question) must validate again unchanged.
            value = getattr(self, name)
            if self.type not in types and value is not None and not (name == "integer" and value):
                where = " or ".join(types)
                issues.append((None, f"{name}: only allowed on {where} questions"))
        if self.type in ("single", "multi"):
            issues.extend(self._check_options())
        if self.type == "number":
            issues.extend(self._check_bounds())
        if self.opens_case and self.type != "rating":
            issues.append((None, "opens_case: only allowed on rating questions"))
        if self.case_category is not None and not self.opens_case:
            issues.append((None, "case_category: only allowed with opens_case: true"))
        if issues:
            raise rules_error(issues)
        return self

    def _check_options(self) -> list[RuleIssue]:
        if self.options is None:
            return [(None, f"options: required for {self.type} questions (2 to 10 options)")]
        issues: list[RuleIssue] = []
        values = [o.value for o in self.options]
        for dup in sorted({v for v in values if values.count(v) > 1}):
            issues.append((None, f"options: value '{dup}' is used more than once"))
        # Typed answers are matched against labels, so labels must be unambiguous too.
        for lang in ("en", "zh"):
            labels = [o.label.get(lang).casefold() for o in self.options]
            for dup in sorted({v for v in labels if labels.count(v) > 1}):
                issues.append((None, f"options: {lang} label '{dup}' is used more than once"))
        if self.type == "multi":
            low, high = self.min_choices or 1, self.max_choices or len(self.options)
            if high > len(self.options):
                issues.append((None, f"max_choices: {high} is more than the {len(self.options)} "
                                     "options"))
            if low > high:
                issues.append((None, f"min_choices: {low} is more than max_choices {high}"))
        return issues

    def _check_bounds(self) -> list[RuleIssue]:
        if self.min is None or self.max is None:
            return [(None, "min and max: both required for number questions")]
        issues: list[RuleIssue] = []
        if self.min >= self.max:
            issues.append((None, f"min ({self.min}) must be less than max ({self.max})"))
        if self.integer and not (float(self.min).is_integer() and float(self.max).is_integer()):
            issues.append((None, "min and max: must be whole numbers when integer is true"))
        return issues

    # Derived facts used by the engine and by handlers.

    def option_values(self) -> list[str]:
        """Return the option values in definition order (empty for non-choice questions)."""
        return [o.value for o in self.options or []]

    def choice_limits(self) -> tuple[int, int]:
        """Return ``(min, max)`` number of choices for a multi-choice question."""
        count = len(self.options or [])
        return self.min_choices or 1, self.max_choices or count

    def value_range(self) -> tuple[float, float] | None:
        """Return the numeric ``(min, max)`` for rating, nps and number questions, else None."""
        if self.type in SCALE_RANGES:
            low, high = SCALE_RANGES[self.type]
            return float(low), float(high)
        if self.type == "number" and self.min is not None and self.max is not None:
            return float(self.min), float(self.max)
        return None

    def text_limit(self) -> int:
        """Return the maximum length of a text answer in code points."""
        return self.max_length or DEFAULT_TEXT_MAX_LENGTH


def _condition_fits(cond: Condition, target: Question) -> str | None:
    """Return why ``cond`` cannot be used on ``target``'s answers, or None if it fits."""
    op = cond.operator
    allowed = OPERATORS_BY_TYPE[target.type]
    if op not in allowed:
        return (f"show_if: operator '{op}' does not fit question '{target.id}' ({target.type}); "
                f"use {', '.join(allowed)}")
    if op == "answered":
        return None
    if op == "contains":
        if cond.contains not in target.option_values():
            return f"show_if: '{cond.contains}' is not an option of question '{target.id}'"
        return None
    if op in ("gte", "lte"):
        values: list[ConditionValue] = [cond.gte if op == "gte" else cond.lte]  # type: ignore[list-item]
    elif op == "in":
        values = list(cond.in_ or [])
    else:
        values = [cond.equals if op == "equals" else cond.not_equals]  # type: ignore[list-item]
    for value in values:
        problem = _value_fits(value, target)
        if problem:
            return f"show_if: {op} {value!r} {problem}"
    return None


def _value_fits(value: ConditionValue, target: Question) -> str | None:
    if target.type in ("single", "multi"):
        if not isinstance(value, str) or value not in target.option_values():
            return f"is not an option of question '{target.id}'"
        return None
    if target.type == "yesno":
        return None if isinstance(value, bool) else f"must be true or false for '{target.id}'"
    bounds = target.value_range()
    if not _is_number(value) or bounds is None:
        return f"must be a number for question '{target.id}'"
    if not math.isfinite(float(value)) or not bounds[0] <= float(value) <= bounds[1]:
        return f"is outside the range {bounds[0]:g}–{bounds[1]:g} of question '{target.id}'"
    return None


class Survey(_Model):
    """A questionnaire definition: what is asked, of whom, and when each question shows."""

    id: str = Field(pattern=SURVEY_ID_PATTERN)
    title: Annotated[LocalText, _at_most(100)]
    intro: Annotated[LocalText, _at_most(1000)]
    audience: Literal["residents", "cadres"]
    anonymous: bool = True
    questions: list[Question] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _cross_question_rules(self) -> Self:
        issues: list[RuleIssue] = []
        seen: dict[str, Question] = {}
        for q in self.questions:
            if q.id in seen:
                issues.append((q.id, f"question id '{q.id}' is used more than once"))
                continue
            if q.show_if is not None:
                target = seen.get(q.show_if.question)
                if target is None:
                    issues.append((q.id, f"show_if refers to '{q.show_if.question}', which is not "
                                         "an earlier question"))
                else:
                    problem = _condition_fits(q.show_if, target)
                    if problem:
                        issues.append((q.id, problem))
            seen[q.id] = q
        # Residents answer in passing; long polls lose them and add to the burden we measure.
        if self.audience == "residents" and len(self.questions) > RESIDENT_MAX_QUESTIONS:
            issues.append((None, f"a resident survey may have at most {RESIDENT_MAX_QUESTIONS} "
                                 f"questions (this one has {len(self.questions)})"))
        if issues:
            raise rules_error(issues)
        return self

    def get_question(self, question_id: str) -> Question | None:
        """Return the question with this id, or None."""
        for q in self.questions:
            if q.id == question_id:
                return q
        return None

    def question_ids(self) -> list[str]:
        """Return all question ids in definition order."""
        return [q.id for q in self.questions]
