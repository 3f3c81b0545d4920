"""Settings: config.yaml validated section by section, secrets and overrides from the environment.

Loaded once in ``main`` and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from analysis.scoring import AppraisalRules, Grade, IndicatorRule

if TYPE_CHECKING:
    from analysis.appraisal import AppraisalConfig

DEFAULT_CONFIG = Path("config.yaml")
TELEGRAM_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """An invalid configuration; the message names the file, the key and what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Section):
    username: str = Field(default="CivicPulseBot", pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    default_language: Literal["en", "zh"] = "en"
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    poll_timeout_s: int = Field(default=30, ge=0, le=50)
    # Client-side flood control: Telegram allows about 30 messages per second overall.
    max_messages_per_second: float = Field(default=30, gt=0, le=100_000)
    retries_after_429: int = Field(default=3, ge=0, le=10)


class DatabaseSection(_Section):
    url: str | None = None
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    pool_size: int = Field(default=20, ge=1, le=200)
    echo: bool = False


class SurveysSection(_Section):
    text_max_length: int = Field(default=1000, ge=1, le=4000)
    default_closes_after_days: int = Field(default=30, ge=1, le=366)


class PrivacySection(_Section):
    min_cell_size: int = Field(default=5, ge=1)
    # Responses keep when they were begun and finished only to this many minutes (and how
    # long they took), so answers cannot be put in order or matched with other times.
    time_resolution_minutes: int = Field(default=10, ge=1, le=1440)
    # Residents' case entries (a report, a reply, an answer) reach staff only at the end of
    # a clock-aligned window this long, each window's together in random order, so staff
    # who act the moment they are told cannot time them (surveys/cases/holding.py). At most
    # an hour: deadlines are counted in working days, and a hold this short costs none.
    hold_residents_entries: bool = True
    hold_window_minutes: int = Field(default=15, ge=1, le=60)


class BurdenSection(_Section):
    # Invitations plus reminders one person may get in a calendar month (UTC), all campaigns.
    max_prompts_per_person_per_month: int = Field(default=4, ge=1, le=100)
    # Questionnaires (campaigns for cadres) one cadre may be asked to answer in a month.
    max_questionnaires_per_cadre_per_month: int = Field(default=2, ge=1, le=31)
    # A manual reminder (/remind) waits at least this long after the campaign's previous one.
    min_hours_between_reminders: int = Field(default=24, ge=0, le=720)


class BroadcastSection(_Section):
    # Messages handed to Telegram at once. After a crash these are the only ones that may
    # reach their recipient twice, so this is the bound on duplicates.
    in_flight: int = Field(default=30, ge=1, le=100)
    # Telegram allows about one message per second to one chat.
    per_chat_interval_s: float = Field(default=1.0, ge=0, le=60)
    # Attempts before a message that keeps failing for network reasons is given up.
    max_attempts: int = Field(default=5, ge=1, le=50)
    # How often the scheduler re-reads campaigns changed by the CLI or another process.
    resync_interval_s: int = Field(default=30, ge=1, le=3600)


class CadresSection(_Section):
    # A cadre's one-time invite link stops working after this many days.
    invite_valid_days: int = Field(default=7, ge=1, le=90)


class NotesSection(_Section):
    # Longest progress note, in characters. Longer ones are refused with the limit, not cut.
    max_length: int = Field(default=500, ge=20, le=3500)
    # A note can be corrected or withdrawn for this long after it was sent.
    correction_window_hours: int = Field(default=24, ge=0, le=720)


class InspectionsSection(_Section):
    remark_max_length: int = Field(default=500, ge=20, le=3500)


class EvidenceSection(_Section):
    # Where photos are kept, under their SHA-256; empty means var/evidence.
    dir: Path | None = None
    # Larger files are refused (the Bot API lets bots download at most 20 MB).
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    max_photos: int = Field(default=5, ge=0, le=10)
    # A location farther than this from its unit's centre is flagged, unless the unit (or
    # the nearest unit above it with a centre) sets its own radius_km in the unit file.
    default_radius_km: float = Field(default=10.0, gt=0, le=5000)


class CasesSection(_Section):
    # Longest report or relay message, in characters; longer ones are refused whole.
    max_text_length: int = Field(default=1000, ge=50, le=3500)
    # Cases one resident may have open at once.
    max_open_per_person: int = Field(default=3, ge=1, le=50)
    # Working days (Monday to Friday, in time_zone, without the holidays) to solve a case:
    # per category (a theme topic, or "other"), default_working_days for the rest.
    default_working_days: int = Field(default=5, ge=1, le=60)
    working_days: dict[str, Annotated[int, Field(ge=1, le=60)]] = Field(
        default_factory=lambda: {"roads": 10, "facilities": 10, "sanitation": 3})
    time_zone: str = "UTC"
    # Public holidays on working days: not counted. Make-up working days (a Saturday or
    # Sunday worked in exchange for a holiday): counted. Dates, YYYY-MM-DD.
    holidays: list[date] = Field(default_factory=list)
    makeup_days: list[date] = Field(default_factory=list)
    # The handler is reminded this many hours before the deadline.
    remind_before_hours: int = Field(default=24, ge=1, le=720)
    # How long the resident's "Was this solved?" waits; no answer closes the case as
    # "not confirmed".
    answer_within_days: int = Field(default=7, ge=1, le=60)
    # A poll question marked opens_case offers to report a problem at or below this rating.
    offer_at_or_below: int = Field(default=2, ge=1, le=10)
    # Reports of one category and unit this close in time and place are offered for merging.
    merge_within_days: int = Field(default=7, ge=1, le=60)
    merge_radius_km: float = Field(default=0.5, gt=0, le=50)
    # A reply to staff, or a comment on "Was this solved?", begun and not sent within this
    # many hours is dropped (so is one when the person begins a poll).
    draft_expires_hours: int = Field(default=24, ge=1, le=720)

    @field_validator("makeup_days")
    @classmethod
    def _weekend_days(cls, value: list[date]) -> list[date]:
        weekdays = [d.isoformat() for d in value if d.weekday() < 5]
        if weekdays:
            raise ValueError(f"make-up working days must be a Saturday or a Sunday (a weekday "
                             f"is a working day already): {', '.join(weekdays)}")
        return value

    @model_validator(mode="after")
    def _holidays_are_not_worked(self) -> CasesSection:
        both = sorted(set(self.holidays) & set(self.makeup_days))
        if both:
            raise ValueError("a day cannot be both a holiday and a make-up working day: "
                             + ", ".join(d.isoformat() for d in both))
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class SentimentSection(_Section):
    # Texts scored per batch, off the event loop, by the background job and the CLI.
    batch_size: int = Field(default=500, ge=1, le=100_000)
    # How often the running bot scores comments, notes and remarks that have no score yet.
    interval_s: int = Field(default=60, ge=1, le=86_400)


class AnomaliesSection(_Section):
    """Thresholds for responses that are kept but excluded from scores and listed for auditors."""

    # Faster than this per answer, a response cannot have been read.
    too_fast_seconds_per_answer: float = Field(default=1.0, ge=0, le=60)
    # Identical answers to at least this many rating questions. With fewer items identical
    # answers are what a satisfied (or angry) resident gives, so they are not flagged.
    straight_lining_min_items: int = Field(default=4, ge=2, le=50)
    # The same comment (case, spaces and punctuation ignored) in several responses of a unit;
    # shorter comments ("good", "ok") repeat innocently.
    duplicate_comment_min_chars: int = Field(default=12, ge=1, le=1000)
    # Completions through one entry point: at least burst_min_count within the window and
    # burst_factor times that entry point's usual rate.
    burst_window_minutes: float = Field(default=10, gt=0, le=1440)
    burst_min_count: int = Field(default=8, ge=2, le=10_000)
    burst_factor: float = Field(default=5, ge=1, le=1000)
    # Residents' answers given by a cadre of the unit being rated.
    flag_cadre_respondents: bool = True


class ThemesSection(_Section):
    # Themes shown per unit (each from at least privacy.min_cell_size comments).
    top: int = Field(default=5, ge=1, le=20)
    # Topic id -> keywords per language. Empty means the shipped public-service topics.
    topics: dict[str, dict[Literal["en", "zh"], list[str]]] = Field(default_factory=dict)


# cases: the share of residents' cases solved on time and confirmed by them (analysis.cases).
Source = Literal["residents", "sentiment", "inspections", "kpi", "self_assessment", "cases"]


class IndicatorSection(_Section):
    """One indicator of a unit type: where its data comes from and how much it weighs."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    source: Source
    weight: float = Field(ge=0, le=1)
    # Display name; the id when empty.
    label: str | None = None
    # residents and self_assessment: the survey indicator whose answers count.
    answers: str | None = None
    # kpi: the KPI name in imported CSV files, and the values that score 100 and 0.
    kpi: str | None = None
    best: float | None = None
    worst: float | None = None
    # Training topic (an id of appraisal.training_topics) for a cadre weak on this indicator.
    training: str | None = None

    @model_validator(mode="after")
    def _fields_fit_source(self) -> IndicatorSection:
        if self.source in ("residents", "self_assessment") and not self.answers:
            raise ValueError(f"indicator {self.id}: source {self.source} needs 'answers' "
                             "(the survey indicator whose answers count)")
        if self.source == "kpi":
            if not self.kpi or self.best is None or self.worst is None:
                raise ValueError(f"indicator {self.id}: source kpi needs 'kpi', 'best' and "
                                 "'worst'")
            if self.best == self.worst:
                raise ValueError(f"indicator {self.id}: 'best' and 'worst' must differ")
        return self

    def rule(self) -> IndicatorRule:
        return IndicatorRule(id=self.id, source=self.source, weight=self.weight,
                             training=self.training, label=self.label or self.id,
                             answers=self.answers, kpi=self.kpi, best=self.best,
                             worst=self.worst)


def _indicator(id: str, source: Source, weight: float, **extra: Any) -> IndicatorSection:
    return IndicatorSection(id=id, source=source, weight=weight, **extra)


# Few indicators, mostly residents' view and verified results; self-assessment weighs little
# (it is mainly compared with the others' view to flag exaggeration).
DEFAULT_INDICATORS = [
    _indicator("satisfaction", "residents", 0.35, label="Resident satisfaction",
               answers="overall_satisfaction", training="residents"),
    _indicator("problem_solved", "residents", 0.15, label="Problems solved",
               answers="problem_solved", training="policy"),
    _indicator("responsiveness", "residents", 0.10, label="Responsiveness",
               answers="responsiveness", training="digital"),
    _indicator("attitude", "residents", 0.10, label="Staff attitude", answers="attitude",
               training="residents"),
    _indicator("comments", "sentiment", 0.05, label="Tone of comments"),
    _indicator("key_tasks", "inspections", 0.20, label="Verified key tasks",
               training="projects"),
    _indicator("self_view", "self_assessment", 0.05, label="Self-assessment",
               answers="key_task_progress"),
]

# Villages also answer for an objective result imported each period (civicpulse kpi import).
DEFAULT_VILLAGE_INDICATORS = [
    _indicator("satisfaction", "residents", 0.30, label="Resident satisfaction",
               answers="overall_satisfaction", training="residents"),
    *DEFAULT_INDICATORS[1:5],
    _indicator("key_tasks", "inspections", 0.15, label="Verified key tasks",
               training="projects"),
    _indicator("waste_collection", "kpi", 0.10, label="Waste collected on schedule (%)",
               kpi="waste_collection_rate", best=100, worst=50, training="projects"),
    DEFAULT_INDICATORS[6],
]

DEFAULT_TRAINING_TOPICS: dict[str, dict[Literal["en", "zh"], str]] = {
    "policy": {"en": "Policies and regulations", "zh": "政策法规"},
    "law": {"en": "Law-based administration", "zh": "依法行政"},
    "residents": {"en": "Working with residents", "zh": "群众工作方法"},
    "digital": {"en": "Digital tools", "zh": "数字化办公工具"},
    "projects": {"en": "Project management", "zh": "项目管理"},
    "emergency": {"en": "Emergency response", "zh": "应急处置"},
}


class AppraisalSection(_Section):
    # Units (and cadres) with fewer valid responses are "not enough responses", never graded.
    min_responses: int = Field(default=10, ge=1, le=100_000)
    # Small samples are shrunk toward the overall mean as if this many average answers were
    # added (a Bayesian average): a village with 5 answers cannot top the ranking by luck.
    prior_weight: float = Field(default=10, ge=0, le=100_000)
    # Grade -> lowest score (0-100) that earns it, best first.
    grades: dict[str, float] = Field(default_factory=lambda: {
        "excellent": 85.0, "good": 70.0, "fair": 55.0, "poor": 0.0})
    # Recognition for this share of graded units and cadres at the best grade.
    recognition_share: float = Field(default=0.1, gt=0, le=1)
    # A cadre's self-assessment above residents' and inspectors' view by more than this many
    # points (0-100) is flagged as possible exaggeration.
    exaggeration_margin: float = Field(default=15, ge=0, le=100)
    # Training suggestions from this many of a cadre's weakest indicators.
    training_count: int = Field(default=2, ge=0, le=8)
    # Four eyes: publishing a draft is a request that takes effect when a second person, an
    # auditor for all units, approves it (`civicpulse appraisal approve`, or /approve in chat).
    # Strict: only true or false, so a quoted "false" or a 0 is an error, not a guess.
    publish_requires_approval: StrictBool = True
    training_topics: dict[str, dict[Literal["en", "zh"], str]] = Field(
        default_factory=lambda: dict(DEFAULT_TRAINING_TOPICS))
    # Unit type -> its indicators; "*" is used for types not listed.
    unit_types: dict[str, list[IndicatorSection]] = Field(
        default_factory=lambda: {"*": list(DEFAULT_INDICATORS),
                                 "village": list(DEFAULT_VILLAGE_INDICATORS)})

    @model_validator(mode="after")
    def _consistent(self) -> AppraisalSection:
        if "*" not in self.unit_types:
            raise ValueError('unit_types: "*" (the indicators of every other unit type) is '
                             "missing")
        for unit_type, indicators in self.unit_types.items():
            if not indicators:
                raise ValueError(f"unit_types.{unit_type}: no indicators")
            ids = [i.id for i in indicators]
            if len(set(ids)) != len(ids):
                raise ValueError(f"unit_types.{unit_type}: an indicator id repeats")
            total = sum(i.weight for i in indicators)
            if abs(total - 1) > 1e-6:
                raise ValueError(f"unit_types.{unit_type}: the weights sum to {total:g}, "
                                 "not 1")
            for i in indicators:
                if i.training is not None and i.training not in self.training_topics:
                    raise ValueError(f"unit_types.{unit_type}: indicator {i.id}: unknown "
                                     f"training topic {i.training!r}")
        floors = list(self.grades.values())
        if not floors or floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
            raise ValueError("grades: list them best first, each with a lower score than the "
                             "one before")
        return self

    def rules(self) -> AppraisalRules:
        """The scoring rules, as the analysis's own dataclasses."""
        return AppraisalRules(
            indicators={unit_type: tuple(i.rule() for i in items)
                        for unit_type, items in self.unit_types.items()},
            min_responses=self.min_responses, prior_weight=self.prior_weight,
            grades=tuple(Grade(name, floor) for name, floor in self.grades.items()),
            recognition_share=self.recognition_share,
            exaggeration_margin=self.exaggeration_margin,
            training_count=self.training_count,
        )


class RateSection(_Section):
    rate: float = Field(gt=0)
    burst: int = Field(ge=1)


class SandboxSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str = "123456:sandbox-token"
    bot_username: str = "civicpulse_bot"
    global_limit: RateSection = RateSection(rate=30, burst=30)
    chat_limit: RateSection = RateSection(rate=1, burst=5)


class WebSection(_Section):
    """The dashboard: pages served by the bot process (handlers/web), opened from the chat as
    a Telegram Mini App or in a browser with a one-time sign-in link (/dashboard)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    # 0 picks a free port (tests).
    port: int = Field(default=8081, ge=0, le=65535)
    # The address people reach the pages at (behind a proxy, https://...); empty means
    # http://host:port. Telegram opens Mini Apps (web_app buttons) from https addresses only.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # A Mini App's initData older than this is refused (signed by Telegram when it opened).
    init_data_max_age_s: int = Field(default=3600, ge=10, le=7 * 86_400)
    # A session (browser cookie) lasts this long; signing out ends it sooner.
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # A /dashboard sign-in link works once, for this long.
    link_valid_minutes: int = Field(default=10, ge=1, le=60)
    # Sign-in link attempts (right or wrong) per client address and window.
    max_sign_in_attempts: int = Field(default=20, ge=1, le=10_000)
    sign_in_window_minutes: int = Field(default=10, ge=1, le=1440)
    # Behind a reverse proxy every request comes from the proxy: with this on, the client is
    # the last address in X-Forwarded-For (the one the proxy added). Only behind a proxy that
    # sets it, or anyone could claim any address.
    trust_forwarded_for: bool = False

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def secure(self) -> bool:
        """Whether cookies are marked Secure (sent over https only)."""
        return bool(self.public_url and self.public_url.startswith("https://"))


class WebhookSection(_Section):
    """Updates by webhook instead of long polling (``civicpulse run --webhook URL`` too).

    Telegram posts each update to ``url``, which a reverse proxy ending TLS forwards to the
    bot's HTTP server (``web.host``/``web.port``, the dashboard's); the path of ``url`` is
    the path served. Each post carries a secret header derived from CIVICPULSE_SECRET_KEY,
    so only Telegram's posts are taken."""

    # Empty: long polling (which deletes a webhook left set).
    url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+/[^\s?#]*$")
    # Connections Telegram opens to deliver updates at the same time (1-100).
    max_connections: int = Field(default=40, ge=1, le=100)
    # Kinds of update Telegram sends; empty means every kind the bot handles.
    allowed_updates: list[str] = Field(default_factory=list)

    @property
    def path(self) -> str:
        """The path the bot serves the webhook at."""
        assert self.url is not None
        return "/" + self.url.split("://", 1)[1].split("/", 1)[1]


class Settings(_Section):
    """The whole configuration. Build it with :func:`load_settings`."""

    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    surveys: SurveysSection = SurveysSection()
    privacy: PrivacySection = PrivacySection()
    burden: BurdenSection = BurdenSection()
    broadcast: BroadcastSection = BroadcastSection()
    cadres: CadresSection = CadresSection()
    notes: NotesSection = NotesSection()
    inspections: InspectionsSection = InspectionsSection()
    evidence: EvidenceSection = EvidenceSection()
    cases: CasesSection = CasesSection()
    sentiment: SentimentSection = SentimentSection()
    anomalies: AnomaliesSection = AnomaliesSection()
    themes: ThemesSection = ThemesSection()
    appraisal: AppraisalSection = AppraisalSection()
    sandbox: SandboxSection = SandboxSection()
    web: WebSection = WebSection()
    webhook: WebhookSection = WebhookSection()

    # From the environment only.
    telegram_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    secret_key: SecretStr | None = None
    config_path: Path | None = None
    var_dir: Path = Path("var")

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: DATABASE_URL, then database.url, then a SQLite file under var/."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'civicpulse.db').as_posix()}"

    @property
    def evidence_dir(self) -> Path:
        return self.evidence.dir if self.evidence.dir is not None else self.var_dir / "evidence"

    @property
    def database_options(self) -> dict[str, Any]:
        section = self.database
        return {"busy_timeout_ms": section.sqlite_busy_timeout_ms,
                "pool_size": section.pool_size, "echo": section.echo}

    @property
    def uses_sandbox(self) -> bool:
        return self.telegram_token is None

    def appraisal_config(self) -> AppraisalConfig:
        """What an appraisal run needs of the configuration, as the analysis's own plain
        dataclasses."""
        # Imported here: the analysis (numpy, the topic dictionaries) loads only for a run.
        from analysis.anomalies import AnomalyRules
        from analysis.appraisal import AppraisalConfig

        a = self.anomalies
        # flag_cadre_respondents travels beside the thresholds, not in them, as it always
        # did: the run's config hash covers the thresholds' repr.
        thresholds = AnomalyRules(
            too_fast_seconds_per_answer=a.too_fast_seconds_per_answer,
            straight_lining_min_items=a.straight_lining_min_items,
            duplicate_comment_min_chars=a.duplicate_comment_min_chars,
            burst_window_minutes=a.burst_window_minutes,
            burst_min_count=a.burst_min_count,
            burst_factor=a.burst_factor,
        )
        return AppraisalConfig(
            rules=self.appraisal.rules(),
            training_topics={topic: {str(lang): name for lang, name in names.items()}
                             for topic, names in self.appraisal.training_topics.items()},
            anomalies=thresholds, flag_cadre_respondents=a.flag_cadre_respondents,
            min_cell=self.privacy.min_cell_size, themes_top=self.themes.top,
            topics={topic: {str(lang): words for lang, words in keywords.items()}
                    for topic, keywords in self.themes.topics.items()} or None,
            # Who must approve a publication has no bearing on the scores, so it stays out of
            # the run's config hash (and old runs keep theirs).
            as_configured=self.appraisal.model_dump(
                mode="json", exclude={"publish_requires_approval"}))


def _format_error(path: Path | str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{path}: {key}: {reason}")
    return "invalid configuration\n" + "\n".join(lines)


class _Loader(yaml.SafeLoader):
    """YAML as safe_load reads it, but dates left as text: the settings parse them, so a
    wrong one ("2026-13-01") is refused with its key, not by YAML with a traceback."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read config.yaml (or ``CIVICPULSE_CONFIG``) and the environment into :class:`Settings`.

    Raises:
        ConfigError: the file is missing, is not YAML, or a key has a wrong value.
    """
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get("CIVICPULSE_CONFIG") or DEFAULT_CONFIG)
    raw: Any = {}
    if config_path.exists():
        try:
            raw = yaml.load(config_path.read_text(encoding="utf-8"), _Loader) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"invalid configuration\n{config_path}:{where}: {problem}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read {config_path}: {exc.strerror}") from exc
    elif path is not None or "CIVICPULSE_CONFIG" in env:
        raise ConfigError(f"configuration file not found: {config_path}")
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid configuration\n{config_path}: (top level): expected a mapping")

    data: dict[str, Any] = dict(raw)
    database = dict(data.get("database") or {})
    if env.get("DATABASE_URL"):
        database["url"] = env["DATABASE_URL"]
    data["database"] = database
    if env.get("TELEGRAM_BOT_TOKEN"):
        data["telegram_token"] = env["TELEGRAM_BOT_TOKEN"]
    if env.get("TELEGRAM_API_URL"):
        data["telegram_api_url"] = env["TELEGRAM_API_URL"]
    if env.get("CIVICPULSE_SECRET_KEY"):
        data["secret_key"] = env["CIVICPULSE_SECRET_KEY"]
    if env.get("CIVICPULSE_VAR_DIR"):
        data["var_dir"] = env["CIVICPULSE_VAR_DIR"]
    data["config_path"] = config_path
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(config_path, exc)) from exc
