"""The rules the use cases take, read from the settings, and the key for respondents: what
the bot and the command line share, in a module light enough for every CLI command to import
(``bot.app`` brings the whole application: Telegram, the web app, every handler)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from analysis.themes import DEFAULT_TOPICS
from bot.settings import ConfigError, Settings
from surveys.campaigns.operations import Burden
from surveys.cases.rules import CaseRules
from surveys.fieldwork.rules import FieldRules


def resolve_secret(settings: Settings) -> bytes:
    """The HMAC key for respondent keys.

    Required from the environment when talking to Telegram; in the sandbox a random key is
    created once under var/ so demo answers stay linked to their respondent across restarts.
    """
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 16:
            raise ConfigError("CIVICPULSE_SECRET_KEY: must be at least 16 characters")
        return value.encode()
    if not settings.uses_sandbox:
        raise ConfigError(
            "CIVICPULSE_SECRET_KEY: must be set when running against Telegram "
            "(it keeps answers anonymous; generate one with `openssl rand -hex 32`)"
        )
    path = Path(settings.var_dir) / "sandbox-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def burden_of(settings: Settings) -> Burden:
    section = settings.burden
    return Burden(
        max_prompts_per_month=section.max_prompts_per_person_per_month,
        max_questionnaires_per_month=section.max_questionnaires_per_cadre_per_month,
        min_gap_between_reminders=timedelta(hours=section.min_hours_between_reminders),
    )


def fieldwork_of(settings: Settings) -> FieldRules:
    return FieldRules(
        invite_valid_for=timedelta(days=settings.cadres.invite_valid_days),
        note_max_length=settings.notes.max_length,
        correction_window=timedelta(hours=settings.notes.correction_window_hours),
        remark_max_length=settings.inspections.remark_max_length,
        max_photo_bytes=settings.evidence.max_photo_bytes,
        max_photos=settings.evidence.max_photos,
        default_radius_km=settings.evidence.default_radius_km,
    )


def cases_of(settings: Settings) -> CaseRules:
    section = settings.cases
    return CaseRules(
        max_text_length=section.max_text_length,
        max_open_per_person=section.max_open_per_person,
        default_working_days=section.default_working_days,
        working_days=dict(section.working_days),
        time_zone=section.time_zone,
        holidays=frozenset(section.holidays),
        makeup_days=frozenset(section.makeup_days),
        remind_before=timedelta(hours=section.remind_before_hours),
        answer_within=timedelta(days=section.answer_within_days),
        offer_at_or_below=section.offer_at_or_below,
        merge_within=timedelta(days=section.merge_within_days),
        merge_radius_km=section.merge_radius_km,
        draft_expires_after=timedelta(hours=section.draft_expires_hours),
        # The theme topics but the one that praises ("resolved"): not a problem to solve.
        categories=tuple(t for t in settings.themes.topics or DEFAULT_TOPICS if t != "resolved"),
        topics={topic: {str(lang): words for lang, words in keywords.items()}
                for topic, keywords in settings.themes.topics.items()} or DEFAULT_TOPICS,
        hold_window=(timedelta(minutes=settings.privacy.hold_window_minutes)
                     if settings.privacy.hold_residents_entries else None),
    )
