"""Who raised a case, sealed so that only the bot process can read it (docs/privacy.md).

A case's seal holds, encrypted with AES-GCM under a key derived from the deployment's secret
and bound to the case's id, the key that counts the resident's open cases and, when they
asked to be told what was done, the chat to tell and its language. Without the secret the
seal is noise; with it, only the bot can relay to the resident. It is deleted when the case
closes, so a closed case names nobody even to the key's holder.

A resident's draft is kept under an HMAC of their Telegram id (like a respondent session).
A reply or an answer's comment being written names the case it is for only sealed as well
(:func:`seal_pointer`): the draft row is written in the resident's own transaction, so its
stamp and place on PostgreSQL would otherwise date their tap for that case.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


@dataclass(frozen=True)
class Reporter:
    """What a seal holds: whose open cases this one counts among, and where to reply."""

    quota_key: str
    chat_id: int | None = None  # None: the resident did not ask to be told
    language: str = "en"

    @property
    def reachable(self) -> bool:
        return self.chat_id is not None


def draft_key(secret: bytes, telegram_user_id: int) -> str:
    """The key of this person's case draft row."""
    message = f"civicpulse/case-draft/v1/{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def quota_key(secret: bytes, telegram_user_id: int) -> str:
    """What a seal stores to count one person's open cases (never stored in the clear)."""
    message = f"civicpulse/case-quota/v1/{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _cipher(secret: bytes, purpose: bytes = b"civicpulse/case-seal/v1") -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return AESGCM(key)


_POINTER = b"civicpulse/case-draft-pointer/v1"


def _bound(case_id: int) -> bytes:
    # Bound to the case: a seal copied onto another case does not open.
    return f"case:{case_id}".encode()


def seal(secret: bytes, case_id: int, reporter: Reporter) -> str:
    payload = {"q": reporter.quota_key, "l": reporter.language}
    if reporter.chat_id is not None:
        payload["c"] = str(reporter.chat_id)
    nonce = os.urandom(_NONCE_BYTES)
    body = _cipher(secret).encrypt(nonce, json.dumps(payload).encode(), _bound(case_id))
    return base64.b64encode(nonce + body).decode("ascii")


def unseal(secret: bytes, case_id: int, sealed: str) -> Reporter | None:
    """The reporter, or None if the seal does not open with this secret for this case."""
    try:
        raw = base64.b64decode(sealed.encode("ascii"), validate=True)
        plain = _cipher(secret).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _bound(case_id))
        payload = json.loads(plain)
        chat = payload.get("c")
        return Reporter(str(payload["q"]), int(chat) if chat is not None else None,
                        str(payload.get("l") or "en"))
    except (InvalidTag, ValueError, binascii.Error, KeyError, TypeError, UnicodeError):
        return None


def seal_pointer(secret: bytes, key: str, number: str) -> str:
    """The number of the case a draft is for, sealed for the draft under ``key``."""
    nonce = os.urandom(_NONCE_BYTES)
    body = _cipher(secret, _POINTER).encrypt(nonce, number.encode(), f"draft:{key}".encode())
    return base64.b64encode(nonce + body).decode("ascii")


def open_pointer(secret: bytes, key: str, sealed: str) -> str | None:
    """The case number a draft's pointer holds, or None if it does not open (another secret,
    another draft's pointer)."""
    try:
        raw = base64.b64decode(sealed.encode("ascii"), validate=True)
        plain = _cipher(secret, _POINTER).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                                  f"draft:{key}".encode())
        return plain.decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeError):
        return None
