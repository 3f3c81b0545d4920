"""A Telegram Mini App's ``initData``: checked as Telegram documents it, then read.

Telegram signs the data it hands a Mini App: the secret key is HMAC-SHA256 of the bot token
with the key ``WebAppData``, and ``hash`` is the hex HMAC-SHA256, with that secret key, of the
data-check string: every other ``key=value`` pair (values URL-decoded), sorted by key, joined
by line feeds. Anyone can read initData; only Telegram (and the sandbox, which holds the same
token) can sign it. ``auth_date`` is when it was signed: older than the configured age it is
refused, so a copied URL stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

# A signature from slightly in the future: the clocks of Telegram and this server differ.
CLOCK_SKEW = timedelta(minutes=5)
MAX_LENGTH = 8192


class InitDataRefused(Exception):
    """initData that is malformed, not signed with this bot's token (``forged``) or too old
    (``stale``); the reason is the page's text key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram account that opened the Mini App (its id stays on the server)."""

    id: int
    language_code: str | None
    auth_date: datetime


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(pairs: dict[str, str]) -> str:
    return "\n".join(f"{key}={pairs[key]}" for key in sorted(pairs) if key != "hash")


def sign(pairs: dict[str, str], bot_token: str) -> str:
    """The ``hash`` Telegram would give these pairs (tests build initData with it)."""
    return hmac.new(secret_key(bot_token), data_check_string(pairs).encode(),
                    hashlib.sha256).hexdigest()


def verify(init_data: str, bot_token: str, now: datetime, max_age: timedelta) -> WebAppUser:
    """The account behind ``init_data``, if Telegram signed it for this bot within
    ``max_age``.

    Raises:
        InitDataRefused: ``malformed``, ``forged`` or ``stale``.
    """
    if not init_data or len(init_data) > MAX_LENGTH:
        raise InitDataRefused("malformed")
    items = parse_qsl(init_data, keep_blank_values=True, strict_parsing=False)
    pairs = dict(items)
    if len(pairs) != len(items) or "hash" not in pairs:
        raise InitDataRefused("malformed")
    expected = sign(pairs, bot_token)
    if not hmac.compare_digest(expected, pairs["hash"].lower()):
        raise InitDataRefused("forged")
    try:
        signed_at = datetime.fromtimestamp(int(pairs.get("auth_date", "")), UTC)
        user = json.loads(pairs.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        raise InitDataRefused("malformed") from None
    if signed_at > now + CLOCK_SKEW or now - signed_at > max_age:
        raise InitDataRefused("stale")
    language = user.get("language_code")
    return WebAppUser(user_id, language if isinstance(language, str) else None, signed_at)
