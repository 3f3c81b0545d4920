"""Campaign rules that need no database: codes, deep links and time windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

# Telegram's start payload allows at most 64 of A-Za-z0-9_-; codes stay shorter so an entry
# point suffix can be added later.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,40}$")


class CampaignRuleError(ValueError):
    """A campaign request that breaks a rule; the message says which and why."""


def check_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise CampaignRuleError(
            f"campaign code {code!r} must be 3-40 characters of letters, digits, '_' or '-'"
        )
    return code


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def parse_start_payload(payload: str | None) -> str | None:
    """The campaign code in a ``/start`` payload, or None if there is none or it is malformed."""
    if not payload:
        return None
    payload = payload.strip()
    return payload if CODE_PATTERN.fullmatch(payload) else None


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime | None

    def check(self) -> None:
        if self.opens_at.tzinfo is None or (
            self.closes_at is not None and self.closes_at.tzinfo is None
        ):
            raise CampaignRuleError("times must carry a time zone")
        if self.closes_at is not None and self.closes_at <= self.opens_at:
            raise CampaignRuleError("the closing time must be after the opening time")

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now and (self.closes_at is None or now < self.closes_at)


AUDIENCES = ("residents", "cadres")
_DURATION_PART = re.compile(r"^(\d+)\s*([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_duration(text: str) -> timedelta:
    """``14d``, ``36h`` or ``90m``."""
    match = _DURATION_PART.match(text.strip())
    if match is None:
        raise CampaignRuleError(f"cannot read the duration {text!r}: use e.g. 2d, 12h or 30m")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_reminders(text: str | None) -> list[timedelta]:
    """A reminder plan: how long before closing each reminder goes, e.g. ``2d,2h``."""
    if not text or not text.strip():
        return []
    plan = sorted({parse_duration(part) for part in text.split(",")}, reverse=True)
    if any(before <= timedelta(0) for before in plan):
        raise CampaignRuleError("reminders must come before the closing time (e.g. 2d,2h)")
    if len(plan) > 3:
        # Burden: more than three nudges for one short poll is nagging.
        raise CampaignRuleError("at most 3 reminders per campaign")
    return plan


@dataclass(frozen=True)
class Recurrence:
    """How a campaign repeats: ``monthly``, ``quarterly`` or a 5-field cron expression."""

    kind: str
    cron: str | None = None

    def __str__(self) -> str:
        return f"cron:{self.cron}" if self.kind == "cron" else self.kind


def parse_recurrence(text: str | None, timezone: str = "UTC") -> Recurrence | None:
    if not text or not text.strip():
        return None
    value = text.strip()
    if value in ("monthly", "quarterly"):
        return Recurrence(value)
    expression = value.removeprefix("cron:").strip()
    try:
        CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as exc:
        raise CampaignRuleError(
            f"--every {value!r}: use monthly, quarterly or a cron expression such as "
            f"'0 9 1 * *' ({exc})"
        ) from exc
    return Recurrence("cron", expression)


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CampaignRuleError(f"unknown time zone {name!r} (e.g. Asia/Shanghai, UTC)") from exc


def check_plan(window: Window, reminders: list[timedelta]) -> None:
    """Reminders must fall inside the campaign's window."""
    if not reminders:
        return
    if window.closes_at is None:
        raise CampaignRuleError("reminders need a closing time")
    for before in reminders:
        if window.closes_at - before <= window.opens_at:
            raise CampaignRuleError(
                f"a reminder {before} before closing would come before the campaign opens"
            )
