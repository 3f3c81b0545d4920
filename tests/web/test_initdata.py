"""The Mini App's initData check: Telegram's documented HMAC-SHA256 over the sorted pairs,
with the key derived from the bot token; forged, stale and malformed data refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest

from handlers.web.initdata import InitDataRefused, sign, verify
from sandbox.webapp import init_data as sandbox_init_data

TOKEN = "123456:sandbox-token"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
USER = {"id": 4242, "first_name": "Wang", "language_code": "zh"}


def build(pairs: dict[str, str], token: str = TOKEN) -> str:
    return urlencode({**pairs, "hash": sign(pairs, token)}, quote_via=quote)


def pairs(at: datetime = NOW, **extra: str) -> dict[str, str]:
    return {"query_id": "AAabc", "user": json.dumps(USER), "auth_date": str(int(at.timestamp())),
            **extra}


def test_the_documented_algorithm() -> None:
    # Written out as Telegram's documentation says, independently of the code under test.
    data = pairs()
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    key = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    assert sign(data, TOKEN) == expected
    user = verify(urlencode({**data, "hash": expected}), TOKEN, NOW, HOUR)
    assert (user.id, user.language_code) == (4242, "zh")


def test_what_the_sandbox_signs_passes() -> None:
    user = verify(sandbox_init_data(USER, TOKEN, int(NOW.timestamp())), TOKEN, NOW, HOUR)
    assert user.id == 4242


@pytest.mark.parametrize("tamper", [
    lambda d: d.replace("4242", "4243"),  # another account
    lambda d: d.replace("auth_date=", "auth_date=1"),  # another time
    lambda d: d + "&extra=1",  # a pair added
])
def test_changed_data_is_forged(tamper: object) -> None:
    assert callable(tamper)
    with pytest.raises(InitDataRefused) as refused:
        verify(tamper(build(pairs())), TOKEN, NOW, HOUR)
    assert refused.value.reason in ("forged", "stale")


def test_another_bots_signature_is_forged() -> None:
    with pytest.raises(InitDataRefused, match="forged"):
        verify(build(pairs(), token="999:other"), TOKEN, NOW, HOUR)


def test_too_old_or_from_the_future_is_stale() -> None:
    verify(build(pairs(NOW - HOUR + timedelta(seconds=1))), TOKEN, NOW, HOUR)
    with pytest.raises(InitDataRefused, match="stale"):
        verify(build(pairs(NOW - HOUR - timedelta(seconds=1))), TOKEN, NOW, HOUR)
    with pytest.raises(InitDataRefused, match="stale"):
        verify(build(pairs(NOW + timedelta(hours=1))), TOKEN, NOW, HOUR)


@pytest.mark.parametrize("data", [
    "", "hash=", "user=x", "a=1&a=2&hash=00", "x" * 9000,
])
def test_malformed_is_refused(data: str) -> None:
    with pytest.raises(InitDataRefused):
        verify(data, TOKEN, NOW, HOUR)


def test_signed_but_without_a_user_is_malformed() -> None:
    with pytest.raises(InitDataRefused, match="malformed"):
        verify(build({"auth_date": str(int(NOW.timestamp()))}), TOKEN, NOW, HOUR)
    with pytest.raises(InitDataRefused, match="malformed"):
        verify(build(pairs(user="[1, 2]")), TOKEN, NOW, HOUR)
