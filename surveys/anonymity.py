"""Pseudonymous respondent keys.

A key is an HMAC of the Telegram user id, keyed with the deployment's secret and scoped to one
campaign: it lets the bot find a person's own response (to resume it, or refuse a second one)
without storing who they are, and responses to different campaigns cannot be linked by key.
"""

from __future__ import annotations

import hashlib
import hmac


def respondent_key(secret: bytes, campaign_id: int, telegram_user_id: int) -> str:
    """The 64-hex-digit key under which this person's answers to this campaign are stored."""
    message = f"civicpulse/respondent/v1/{campaign_id}/{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
