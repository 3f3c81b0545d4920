"""Loading survey YAML files into validated :class:`~surveys.questionnaire.schema.Survey` objects.

Admins write these files by hand, so every problem is reported as a :class:`SurveyIssue` that
names the file, the question (by id, or by position when it has no id) and a plain reason such
as ``unknown key 'optons' (did you mean 'options'?)``, never a raw pydantic dump.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from surveys._yaml import StrictSafeLoader, describe_yaml_error, expands_beyond
from surveys.questionnaire.schema import Condition, LocalText, Option, Question, Survey

MAX_FILE_BYTES = 256 * 1024
# Far above any real survey (20 questions of 10 options), far below what would hang a check.
MAX_YAML_VALUES = 20_000
# The shipped templates stay at surveys/templates/, the path admins are told to copy from.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SurveyIssue:
    """One problem found in a survey file.

    Attributes:
        file: The file (or source label) the problem is in.
        question_id: The question's id, ``"#4"`` for a fourth question without an id, or None
            when the problem concerns the survey as a whole.
        reason: What is wrong, in plain words.
    """

    file: str
    question_id: str | None
    reason: str

    def __str__(self) -> str:
        if self.question_id is None:
            return f"{self.file}: {self.reason}"
        return f"{self.file}: question {self.question_id}: {self.reason}"


class SurveyError(Exception):
    """A survey file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[SurveyIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


# --- translating pydantic errors -------------------------------------------------------------

# Which model a mapping at a given key belongs to, for "did you mean" suggestions.
_MODEL_AT_KEY: dict[str, type[BaseModel]] = {
    "show_if": Condition,
    "options": Option,
    "text": LocalText,
    "title": LocalText,
    "intro": LocalText,
    "hint": LocalText,
    "label": LocalText,
}

_PATTERN_HELP = {
    "question": "lowercase letters, digits and _, starting with a letter, at most 32 characters",
    "option": "lowercase letters, digits, _ and -, starting with a letter or digit, at most 32",
    "survey": "lowercase letters, digits, _ and -, starting with a letter, at most 64 characters",
}

# pydantic adds the member type to the location of errors inside a union (``equals.str``);
# those tags mean nothing to someone editing YAML.
_UNION_TAGS = {"str", "int", "float", "bool", "none"}


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in _UNION_TAGS or "[" in part or part.startswith(("function-", "lax-", "strict-"))
    )


def _render_path(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f" #{part + 1}"
        else:
            text += f".{part}" if text else part
    return text


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_for(parent: Sequence[str | int], in_question: bool) -> type[BaseModel]:
    names = [p for p in parent if isinstance(p, str)]
    if names:
        return _MODEL_AT_KEY.get(names[-1], Survey)
    return Question if in_question else Survey


_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 2, 4, 4
_REPR.maxstring = _REPR.maxother = 50


def _show(value: Any) -> str:
    # reprlib bounds the work as well as the length, whatever the YAML contained.
    return _REPR.repr(value)


def _type_hint(value: Any) -> str:
    # YAML 1.1 turns unquoted yes/no/on/off into booleans and 0101 into a number; say so.
    if isinstance(value, bool):
        return " (put it in quotes: YAML reads yes/no/on/off/true/false as true or false)"
    if isinstance(value, int | float):
        return " (put it in quotes to make it text)"
    return ""


def _reason(err: ErrorDetails, parts: Sequence[str | int], in_question: bool) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    path = _render_path(parts)
    prefix = f"{path}: " if path else ""
    if kind in ("extra_forbidden", "missing"):
        key = str(parts[-1]) if parts else "?"
        parent = parts[:-1]
        outer = _render_path(parent)
        outer_prefix = f"{outer}: " if outer else ""
        if kind == "missing":
            return f"{outer_prefix}missing key '{key}'"
        known = _keys_of(_model_for(parent, in_question))
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{outer_prefix}unknown key '{key}'{hint}"
    if kind == "too_short":
        return f"{prefix}at least {ctx.get('min_length')} required"
    if kind == "too_long":
        return f"{prefix}at most {ctx.get('max_length')} allowed (found {ctx.get('actual_length')})"
    if kind == "string_too_long":
        return f"{prefix}at most {ctx.get('max_length')} characters allowed"
    if kind == "string_pattern_mismatch":
        field = str(parts[-1]) if parts else ""
        names = [p for p in parts if isinstance(p, str)]
        if "options" in names:
            help_text = _PATTERN_HELP["option"]
        elif in_question or field == "indicator":
            help_text = _PATTERN_HELP["question"]
        else:
            help_text = _PATTERN_HELP["survey"]
        return f"{prefix}{_show(value)} is not a valid {field or 'value'} (use {help_text})"
    if kind == "string_type":
        return f"{prefix}must be text, got {_show(value)}{_type_hint(value)}"
    if kind == "literal_error":
        return f"{prefix}{_show(value)} is not one of {ctx.get('expected')}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{prefix}must be true or false, got {_show(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"):
        return f"{prefix}must be a number, got {_show(value)}"
    if kind in ("finite_number",):
        return f"{prefix}must be a finite number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{prefix}must be at least {ctx.get('ge', ctx.get('gt'))}, got {_show(value)}"
    if kind in ("less_than_equal", "less_than"):
        return f"{prefix}must be at most {ctx.get('le', ctx.get('lt'))}, got {_show(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        names = [p for p in parts if isinstance(p, str)]
        if names and _MODEL_AT_KEY.get(names[-1]) is LocalText:
            return f"{prefix}must be a mapping with 'en' and 'zh' texts, got {_show(value)}"
        return f"{prefix}must be a mapping of keys to values, got {_show(value)}"
    if kind == "list_type":
        return f"{prefix}must be a list, got {_show(value)}"
    if kind == "value_error":
        message = err["msg"].removeprefix("Value error, ")
        return f"{prefix}{message}"
    return f"{prefix}{err['msg']}"


def _question_label(data: Any, index: int) -> str:
    questions = data.get("questions") if isinstance(data, dict) else None
    if isinstance(questions, list) and 0 <= index < len(questions):
        raw = questions[index]
        if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
            return str(raw["id"])
    return f"#{index + 1}"


def issues_from_validation_error(
    exc: ValidationError, data: Any, source: str
) -> list[SurveyIssue]:
    """Translate a pydantic ``ValidationError`` on a survey into file/question issues.

    Args:
        exc: The error raised by ``Survey.model_validate``.
        data: The raw data that was validated, used to find the ids of failing questions.
        source: The file name to put in each issue.

    Returns:
        One issue per distinct problem, in the order pydantic found them.
    """
    issues: list[SurveyIssue] = []
    tagged_seen: set[tuple[str | None, str]] = set()
    for err in exc.errors():
        loc = list(err["loc"])
        question_id: str | None = None
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            question_id = _question_label(data, loc[1])
            loc = loc[2:]
        tagged = any(_is_union_tag(p) for p in loc)
        parts = [p for p in loc if not _is_union_tag(p)]
        if err["type"] == "survey_rules":
            for rule_qid, reason in (err.get("ctx") or {}).get("issues", []):
                issues.append(SurveyIssue(source, rule_qid or question_id, reason))
            continue
        if tagged:
            # A union reports one error per member type; one line about the value is enough.
            key = (question_id, _render_path(parts))
            if key in tagged_seen:
                continue
            tagged_seen.add(key)
            reason = (f"{_render_path(parts)}: {_show(err.get('input'))} is not allowed here "
                      "(expected text, a number or true/false)")
        else:
            reason = _reason(err, parts, question_id is not None)
        issues.append(SurveyIssue(source, question_id, reason))
    return _merge_misspelt_keys(list(dict.fromkeys(issues)))


_MISSPELT = re.compile(r"^(?P<prefix>.*?)unknown key '.*' \(did you mean '(?P<key>[^']+)'\?\)$")


def _merge_misspelt_keys(issues: list[SurveyIssue]) -> list[SurveyIssue]:
    """Drop "missing key 'title'" when "unknown key 'titel' (did you mean 'title'?)" says it."""
    explained: set[tuple[str | None, str]] = set()
    for issue in issues:
        match = _MISSPELT.match(issue.reason)
        if match:
            explained.add((issue.question_id, f"{match['prefix']}missing key '{match['key']}'"))
    return [i for i in issues if (i.question_id, i.reason) not in explained]


# --- public API ----------------------------------------------------------------------------


def parse_survey(text: str, source: str = "<string>") -> Survey:
    """Parse and validate survey YAML text.

    Args:
        text: The YAML document.
        source: The file name to use in error messages.

    Returns:
        The validated survey.

    Raises:
        SurveyError: With every problem found (YAML syntax, duplicate keys, unknown keys,
            invalid values, bad ``show_if`` references, too many questions, size over 256 KB).
    """
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_FILE_BYTES:
        raise SurveyError([SurveyIssue(source, None, "file is larger than 256 KB")])
    try:
        data = yaml.load(text, Loader=StrictSafeLoader)
    except yaml.YAMLError as exc:
        raise SurveyError([SurveyIssue(source, None, describe_yaml_error(exc))]) from exc
    if data is None:
        raise SurveyError([SurveyIssue(source, None, "file is empty")])
    if expands_beyond(data, MAX_YAML_VALUES):
        reason = "too much data once YAML aliases (*name) are expanded"
        raise SurveyError([SurveyIssue(source, None, reason)])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{_show(data)}"
        raise SurveyError([SurveyIssue(
            source, None,
            f"the top level must be a mapping with id, title, intro, audience and questions, "
            f"not {kind}",
        )])
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise SurveyError([SurveyIssue(source, None, f"unknown key {_show(k)}") for k in bad_keys])
    try:
        return Survey.model_validate(data)
    except ValidationError as exc:
        raise SurveyError(issues_from_validation_error(exc, data, source)) from exc


def load_survey(path: str | Path) -> Survey:
    """Read, parse and validate a survey YAML file.

    Args:
        path: The file to read (UTF-8, an optional byte-order mark is ignored).

    Returns:
        The validated survey.

    Raises:
        SurveyError: If the file cannot be read, is over 256 KB or is not a valid survey.
    """
    source = str(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise SurveyError([SurveyIssue(source, None, "file is larger than 256 KB")])
        raw = file.read_bytes()
    except FileNotFoundError as exc:
        raise SurveyError([SurveyIssue(source, None, "no such file")]) from exc
    except OSError as exc:
        raise SurveyError([SurveyIssue(source, None, f"cannot read: {exc.strerror}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (invalid byte at offset {exc.start})"
        raise SurveyError([SurveyIssue(source, None, reason)]) from exc
    return parse_survey(text, source)


def validate_paths(paths: Sequence[str | Path]) -> list[SurveyIssue]:
    """Validate survey files; directories stand for the ``*.yaml``/``*.yml`` files in them.

    Args:
        paths: Files and/or directories (not searched recursively).

    Returns:
        Every issue found, in path order; an empty list means all files are valid.
    """
    issues: list[SurveyIssue] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in _YAML_SUFFIXES and p.is_file())
            if not files:
                issues.append(SurveyIssue(str(entry), None, "no *.yaml or *.yml files found"))
        elif path.exists():
            files = [path]
        else:
            issues.append(SurveyIssue(str(entry), None, "no such file or directory"))
            continue
        for file in files:
            try:
                load_survey(file)
            except SurveyError as exc:
                issues.extend(exc.issues)
    return issues


# Question keys added after surveys were first stored, with their defaults.
_LATER_KEYS: dict[str, object] = {"opens_case": False, "case_category": None}


def canonical_json(survey: Survey) -> str:
    """Return the canonical JSON form of a survey (sorted keys, YAML key names, compact).

    Args:
        survey: A validated survey.

    Returns:
        The same text for any two equal surveys, whatever the key order of their YAML.
    """
    data = survey.model_dump(mode="json", by_alias=True)
    for question in data["questions"]:
        # Keys added later are left out at their defaults, so a survey that does not use them
        # keeps the checksum it was stored under.
        for key, default in _LATER_KEYS.items():
            if question.get(key, default) == default:
                question.pop(key, None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def survey_checksum(survey: Survey) -> str:
    """Return the sha256 hex digest of :func:`canonical_json`, identifying a stored version.

    Args:
        survey: A validated survey.

    Returns:
        64 lowercase hex characters.
    """
    return hashlib.sha256(canonical_json(survey).encode("utf-8")).hexdigest()


def template_names() -> list[str]:
    """Return the names of the shipped templates (file names without ``.yaml``)."""
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))


def template_path(name: str) -> Path:
    """Return the path of a shipped template.

    Args:
        name: The template name, with or without the ``.yaml`` suffix.

    Returns:
        The template file's path.

    Raises:
        FileNotFoundError: If there is no shipped template of that name.
    """
    stem = name.removesuffix(".yaml")
    # The name may come from a command line; never let it leave the templates folder.
    path = TEMPLATES_DIR / f"{stem}.yaml"
    if not _TEMPLATE_NAME.match(stem) or not path.is_file():
        available = ", ".join(template_names())
        raise FileNotFoundError(f"no shipped survey template {name!r} (available: {available})")
    return path


def load_template(name: str) -> Survey:
    """Load and validate a shipped template.

    Args:
        name: The template name, e.g. ``"resident_satisfaction"``.

    Returns:
        The validated survey.

    Raises:
        FileNotFoundError: If there is no shipped template of that name.
        SurveyError: If the template is invalid (a packaging bug; the tests prevent it).
    """
    return load_survey(template_path(name))
