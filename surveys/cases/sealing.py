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

Every sealed blob is padded to a size bucket (:func:`_pad`) before it is encrypted: AES-GCM
keeps the plaintext's length, so without it a seal's length would tell whether it holds a
chat to reply to, or the answers a comment moved from.
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
# Sealed plaintexts are padded to the smallest of these sizes (then to multiples of the last)
# that holds them and a marker byte.
_BUCKETS = (256, 512, 1024)
# The first byte of a padded plaintext; an older, unpadded one is JSON or a case number,
# which never starts with it.
_PADDED = b"\x01"


@dataclass(frozen=True)
class Reporter:
    """What a seal holds: whose open cases this one counts among, and where to reply."""

    quota_key: str
    chat_id: int | None = None  # None: the resident did not ask to be told
    language: str = "en"
    # The nonce of the draft whose Send opened the case: that tap, delivered again after a
    # crash, finds its case by it to answer with the receipt. Not kept by a later reseal.
    draft: str | None = None

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


def _pad(plain: bytes) -> bytes:
    """``plain`` behind the marker, then 0x80 and zeros up to its bucket (ISO/IEC 7816-4)."""
    size = len(_PADDED) + len(plain) + 1
    bucket = next((b for b in _BUCKETS if b >= size), None)
    if bucket is None:
        step = _BUCKETS[-1]
        bucket = -(-size // step) * step
    return _PADDED + plain + b"\x80" + b"\0" * (bucket - size)


def _unpad(padded: bytes) -> bytes:
    if not padded.startswith(_PADDED):
        return padded  # sealed before padding
    body = padded[len(_PADDED):].rstrip(b"\0")
    if not body.endswith(b"\x80"):
        raise ValueError("bad padding")
    return body[:-1]


def seal_bytes(secret: bytes, purpose: bytes, bound: bytes, plain: bytes) -> str:
    """``plain`` padded and sealed (AES-GCM under the key for ``purpose``, bound to
    ``bound``: it opens only for the same), as base64 text."""
    nonce = os.urandom(_NONCE_BYTES)
    body = _cipher(secret, purpose).encrypt(nonce, _pad(plain), bound)
    return base64.b64encode(nonce + body).decode("ascii")


def open_bytes(secret: bytes, purpose: bytes, bound: bytes, sealed: str) -> bytes | None:
    """What :func:`seal_bytes` sealed, or None if it does not open (another secret, another
    purpose or binding, not a seal)."""
    try:
        raw = base64.b64decode(sealed.encode("ascii"), validate=True)
        plain = _cipher(secret, purpose).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound)
        return _unpad(plain)
    except (InvalidTag, ValueError, binascii.Error, UnicodeError):
        return None


_SEAL = b"civicpulse/case-seal/v1"


def seal(secret: bytes, case_id: int, reporter: Reporter) -> str:
    payload = {"q": reporter.quota_key, "l": reporter.language}
    if reporter.chat_id is not None:
        payload["c"] = str(reporter.chat_id)
    if reporter.draft is not None:
        payload["d"] = reporter.draft
    return seal_bytes(secret, _SEAL, _bound(case_id), json.dumps(payload).encode())


def unseal(secret: bytes, case_id: int, sealed: str) -> Reporter | None:
    """The reporter, or None if the seal does not open with this secret for this case."""
    plain = open_bytes(secret, _SEAL, _bound(case_id), sealed)
    if plain is None:
        return None
    try:
        payload = json.loads(plain)
        chat, draft = payload.get("c"), payload.get("d")
        return Reporter(str(payload["q"]), int(chat) if chat is not None else None,
                        str(payload.get("l") or "en"), str(draft) if draft is not None else None)
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None


def seal_pointer(secret: bytes, key: str, number: str) -> str:
    """The number of the case a draft is for, sealed for the draft under ``key``."""
    return seal_bytes(secret, _POINTER, f"draft:{key}".encode(), number.encode())


def open_pointer(secret: bytes, key: str, sealed: str) -> str | None:
    """The case number a draft's pointer holds, or None if it does not open (another secret,
    another draft's pointer)."""
    plain = open_bytes(secret, _POINTER, f"draft:{key}".encode(), sealed)
    try:
        return plain.decode() if plain is not None else None
    except UnicodeError:
        return None
