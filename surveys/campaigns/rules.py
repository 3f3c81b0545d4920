"""Campaign rules that need no database: codes, deep links and time windows."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from storage.models import LIVE_STATUSES, Campaign, CampaignStatus

# Telegram's start payload allows at most 64 of A-Za-z0-9_-; codes stay shorter so an entry
# point suffix can be added later.
CODE_PATTERN = re.compile(r"^(?!.*--)[A-Za-z0-9_-]{3,40}$")
# A named entry point (a service window, an event) rides in the payload as CODE--NAME.
ENTRY_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,20}$")
ENTRY_SEPARATOR = "--"
# Responses that came through an invitation's button are told apart by this entry point.
INVITATION_ENTRY = "invite"


class CampaignRuleError(ValueError):
    """A campaign request that breaks a rule; the message says which and why."""


# Deep links starting with this open a cadre's invite, never a campaign (surveys.fieldwork.cadres).
RESERVED_PREFIX = "cadre-"


def check_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise CampaignRuleError(
            f"campaign code {code!r} must be 3-40 characters of letters, digits, '_' or '-' "
            "(no '--')"
        )
    if code.lower().startswith(RESERVED_PREFIX):
        raise CampaignRuleError(
            f"campaign code {code!r} cannot start with {RESERVED_PREFIX!r}: such links are "
            "cadres' invite links"
        )
    return code


def check_entry_name(name: str) -> str:
    if not ENTRY_PATTERN.fullmatch(name) or name == INVITATION_ENTRY:
        raise CampaignRuleError(
            f"entry point {name!r} must be 1-20 letters, digits or '_' (and not "
            f"{INVITATION_ENTRY!r}, which marks answers that came through an invitation)"
        )
    return name


def deep_link(bot_username: str, code: str, entry: str | None = None) -> str:
    payload = f"{code}{ENTRY_SEPARATOR}{entry}" if entry else code
    return f"https://t.me/{bot_username}?start={payload}"


@dataclass(frozen=True)
class StartPayload:
    code: str
    entry: str | None = None


def parse_start_payload(payload: str | None) -> StartPayload | None:
    """The campaign code (and entry point) in a ``/start`` payload, or None if there is none
    or it is malformed."""
    if not payload:
        return None
    code, _, entry = payload.strip().partition(ENTRY_SEPARATOR)
    if not CODE_PATTERN.fullmatch(code) or (entry and not ENTRY_PATTERN.fullmatch(entry)):
        return None
    return StartPayload(code, entry or None)


# The lifecycle: each status may only move on to these.
TRANSITIONS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.SCHEDULED, CampaignStatus.OPEN, CampaignStatus.CLOSED),
    CampaignStatus.SCHEDULED: (CampaignStatus.OPEN, CampaignStatus.CLOSED),
    CampaignStatus.OPEN: (CampaignStatus.CLOSED,),
    CampaignStatus.CLOSED: (),
}


def check_transition(code: str, current: CampaignStatus, new: CampaignStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise CampaignRuleError(f"campaign {code!r} is {current.value}; it cannot become "
                                f"{new.value}")


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


def initial_status(opens_at: datetime, now: datetime) -> CampaignStatus:
    """The status a new campaign (or a recurrence's next one) starts in: open at once when
    its window has begun, scheduled otherwise."""
    return CampaignStatus.OPEN if opens_at <= now else CampaignStatus.SCHEDULED


def is_open(campaign: Campaign, now: datetime) -> bool:
    """Open now: live (not a draft, not closed) and inside its window, so it takes answers and
    reminders.

    The window decides, not only the status, so a scheduled campaign opens on time even
    before the scheduler has flipped its status, and one past its closing time is over even
    before the scheduler has closed it.
    """
    window = Window(campaign.opens_at, campaign.closes_at)
    return campaign.status in LIVE_STATUSES and window.is_open(now)


AUDIENCES = ("residents", "cadres")
_DURATION_PART = re.compile(r"^(\d+)\s*([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
# Ten years: far past any campaign, and far from where date arithmetic overflows (timedelta
# stops at 999,999,999 days, datetime at the year 9999).
MAX_DURATION = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """``14d``, ``36h`` or ``90m``, at most :data:`MAX_DURATION`."""
    match = _DURATION_PART.match(text.strip())
    if match is None:
        raise CampaignRuleError(f"cannot read the duration {text!r}: use e.g. 2d, 12h or 30m")
    digits, unit = match.group(1).lstrip("0"), _UNITS[match.group(2)]
    if len(digits) > 9 or int(digits or 0) * unit > MAX_DURATION:
        raise CampaignRuleError(f"the duration {text.strip()!r} is too long: at most "
                                f"{MAX_DURATION.days} days")
    return int(digits or 0) * unit


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`, in its largest whole unit: 2d, 36h, 90m."""
    minutes = int(value.total_seconds() // 60)
    for suffix, size in (("d", 1440), ("h", 60)):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{suffix}"
    return f"{minutes}m"


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

    def next_opening(self, opens_at: datetime, timezone: str,
                     anchor: datetime | None = None) -> datetime:
        """When the series' next campaign opens, after one that opens at ``opens_at``.

        Months are counted on the local calendar, so "monthly" keeps the local time of day
        across daylight-saving changes. The day of the month comes from ``anchor`` (the
        series' first opening), so a series begun on the 31st falls back to the 28th in
        February and returns to the 31st in March.
        """
        zone = check_timezone(timezone)
        local = opens_at.astimezone(zone)
        if self.kind in ("monthly", "quarterly"):
            first = (anchor or opens_at).astimezone(zone)
            step = 1 if self.kind == "monthly" else 3
            month_index = local.month - 1 + step
            year, month = local.year + month_index // 12, month_index % 12 + 1
            day = min(first.day, calendar.monthrange(year, month)[1])
            following = datetime(year, month, day, first.hour, first.minute, first.second,
                                 tzinfo=zone)
            return following.astimezone(opens_at.tzinfo)
        assert self.cron is not None
        trigger = cron_trigger(self.cron, zone)
        fire = trigger.get_next_fire_time(None, local + timedelta(seconds=1))
        assert fire is not None  # a crontab always fires again
        return fire.astimezone(opens_at.tzinfo)


def recurrence_from_str(value: str | None) -> Recurrence | None:
    """The inverse of ``str(Recurrence)``, for values read back from the database."""
    if not value:
        return None
    if value.startswith("cron:"):
        return Recurrence("cron", value.removeprefix("cron:"))
    return Recurrence(value)


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, timezone: str | ZoneInfo) -> CronTrigger:
    """A trigger for a standard 5-field crontab line.

    APScheduler 3 numbers weekdays from Monday = 0, while crontab uses Sunday = 0 (or 7), so
    numeric weekdays are turned into names first; otherwise "1" (Monday) would fire on
    Tuesdays.
    """
    fields = expression.split()
    if len(fields) == 5:
        fields[4] = ",".join(_weekdays(part) for part in fields[4].split(","))
    return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)


def _weekdays(part: str) -> str:
    """One comma-separated part of a crontab weekday field, as APScheduler day names.

    Numeric ranges and steps are expanded into lists, since Sunday (0) maps to APScheduler's
    last day and a range such as 0-3 would otherwise run backwards.
    """
    base, _, step = part.partition("/")
    if not re.fullmatch(r"\*|\d+(-\d+)?", base):
        return part  # names (mon-fri) mean the same to both
    if step and (not step.isdigit() or int(step) < 1):
        raise ValueError(f"bad step in {part!r}")
    low, high = (0, 6) if base == "*" else _bounds(base)
    if base != "*" and not step and "-" not in base:
        high = low
    if not 0 <= low <= 7 or not 0 <= high <= 7 or low > high:
        raise ValueError(f"weekday {part!r} is out of range (0-7)")
    days = range(low, high + 1, int(step) if step else 1)
    return ",".join(dict.fromkeys(_DAY_NAMES[d] for d in days))


def _bounds(base: str) -> tuple[int, int]:
    low, _, high = base.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise ValueError(f"weekday steps need numbers, not {base!r}")
    return int(low), int(high) if high else 6


def parse_recurrence(text: str | None, timezone: str = "UTC") -> Recurrence | None:
    if not text or not text.strip():
        return None
    value = text.strip()
    if value in ("monthly", "quarterly"):
        return Recurrence(value)
    expression = value.removeprefix("cron:").strip()
    try:
        cron_trigger(expression, timezone)
    except ValueError as exc:
        raise CampaignRuleError(
            f"--every {value!r}: use monthly, quarterly or a cron expression such as "
            f"'0 9 1 * *' ({exc})"
        ) from exc
    return Recurrence("cron", expression)


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a directory of the zone database ("America/Argentina"), a name too long.
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
                f"a reminder {format_duration(before)} before closing would come before the "
                "campaign opens"
            )
