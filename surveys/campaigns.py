"""Campaign rules that need no database: codes, deep links and time windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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
