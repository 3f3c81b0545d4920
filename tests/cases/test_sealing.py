"""Sealed blobs (surveys/cases/sealing.py) are padded to size buckets: AES-GCM keeps the
plaintext's length, so without padding a seal's length would tell whether it holds a chat to
reply to (the resident asked to be told), a draft's nonce, or the answers a comment moved
from. Pure: no database."""

from __future__ import annotations

import base64
import json
import os

import pytest

from surveys.cases import sealing
from tests.conftest import SECRET

CASE = 8_123_456_789
QUOTA = sealing.quota_key(SECRET, 5_550_777_001)


def size(sealed: str) -> int:
    return len(base64.b64decode(sealed))


@pytest.mark.parametrize("reporter", [
    sealing.Reporter(QUOTA),
    sealing.Reporter(QUOTA, chat_id=5_550_777_001, language="zh"),
    sealing.Reporter(QUOTA, chat_id=-1_001_234_567_890_123, language="en", draft="a1b2c3"),
    sealing.Reporter(QUOTA, draft="a1b2c3"),
])
def test_every_seal_has_the_same_length(reporter: sealing.Reporter) -> None:
    silent = sealing.seal(SECRET, CASE, sealing.Reporter(QUOTA))
    sealed = sealing.seal(SECRET, CASE, reporter)
    assert size(sealed) == size(silent) == 12 + 256 + 16, "nonce, one bucket, tag"
    assert sealing.unseal(SECRET, CASE, sealed) == reporter


def test_pointers_and_other_blobs_are_padded_too() -> None:
    short = sealing.seal_pointer(SECRET, "k" * 64, "C-2345AB")
    longer = sealing.seal_pointer(SECRET, "k" * 64, json.dumps({"n": "C-2345AB", "t": 1}))
    assert size(short) == size(longer)
    assert sealing.open_pointer(SECRET, "k" * 64, short) == "C-2345AB"
    few = sealing.seal_bytes(SECRET, b"test", b"x", json.dumps([1]).encode())
    many = sealing.seal_bytes(SECRET, b"test", b"x", json.dumps([2**60] * 10).encode())
    assert size(few) == size(many)
    # Past the last bucket, the size grows in whole buckets: still only a coarse size.
    huge = sealing.seal_bytes(SECRET, b"test", b"x", b"y" * 3000)
    assert (size(huge) - 28) % 1024 == 0
    assert sealing.open_bytes(SECRET, b"test", b"x", huge) == b"y" * 3000


def test_a_seal_made_before_padding_still_opens() -> None:
    """Seals already in the database when the padding came: a bare JSON plaintext."""
    payload = json.dumps({"q": QUOTA, "l": "en", "c": "42"}).encode()
    nonce = os.urandom(12)
    body = sealing._cipher(SECRET).encrypt(nonce, payload, f"case:{CASE}".encode())
    old = base64.b64encode(nonce + body).decode()
    assert sealing.unseal(SECRET, CASE, old) == sealing.Reporter(QUOTA, 42, "en")


def test_a_tampered_padding_does_not_open() -> None:
    nonce = os.urandom(12)
    bad = sealing._cipher(SECRET).encrypt(nonce, b"\x01{}" + b"\0" * 10, b"case:1")
    assert sealing.unseal(SECRET, 1, base64.b64encode(nonce + bad).decode()) is None
