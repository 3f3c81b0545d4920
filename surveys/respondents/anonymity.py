"""What keeps a resident's answers apart from who they are (see docs/privacy.md).

- Respondent keys: an HMAC of the Telegram user id, keyed with the deployment's secret and
  scoped to one campaign. They let the bot find a person's own response (to resume it, or
  refuse a second one) without storing who they are; responses to different campaigns cannot
  be linked by key.
- Session keys: the same kind of HMAC, scoped to the person alone, under which the bot keeps
  which poll they are answering now. The contact row (the only one with a Telegram id) points
  at nothing.
- Coarse times: a response records when it was begun and finished only to the privacy
  resolution (ten minutes by default), so neither the order of answers nor their times can be
  matched with when someone was sent an invitation or wrote to the bot.
- Sealed start: the exact moment a response was begun is needed once, to know how long the
  person took (a ballot stuffer answers in seconds). It is kept encrypted with a key derived
  from the secret, and dropped when the response is completed, leaving only the duration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEFAULT_RESOLUTION = timedelta(minutes=10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def respondent_key(secret: bytes, campaign_id: int, telegram_user_id: int) -> str:
    """The 64-hex-digit key under which this person's answers to this campaign are stored."""
    message = f"civicpulse/respondent/v1/{campaign_id}/{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def session_key(secret: bytes, telegram_user_id: int) -> str:
    """The key of the row that says which poll this person is answering now."""
    message = f"civicpulse/session/v1/{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def coarse(moment: datetime, resolution: timedelta = DEFAULT_RESOLUTION) -> datetime:
    """``moment`` rounded down to the privacy resolution (UTC, aligned on the epoch)."""
    step = max(1, int(resolution.total_seconds()))
    seconds = int((moment - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % step)


@lru_cache(maxsize=8)
def _cipher(secret: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"civicpulse/sealed-time/v1").derive(secret)
    return AESGCM(key)


def seal_time(secret: bytes, bound_to: str, moment: datetime) -> str:
    """``moment`` encrypted (AES-GCM, random nonce), readable only with the secret and only
    for the row it was sealed for (``bound_to``, e.g. the respondent key)."""
    micros = int((moment - _EPOCH).total_seconds() * 1_000_000)
    nonce = os.urandom(12)
    sealed = _cipher(secret).encrypt(nonce, struct.pack(">q", micros), bound_to.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def open_time(secret: bytes, bound_to: str, token: str | None) -> datetime | None:
    """The moment :func:`seal_time` sealed, or None if ``token`` is missing or not genuine."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        plain = _cipher(secret).decrypt(raw[:12], raw[12:], bound_to.encode())
    except (InvalidTag, ValueError, binascii.Error):
        return None
    (micros,) = struct.unpack(">q", plain)
    return _EPOCH + timedelta(microseconds=micros)
