"""Button data carries ids of any size the bot can issue, within Telegram's 64 bytes."""

from __future__ import annotations

from handlers.render import parse_tap
from storage.ids import RANDOM_ID_MAX
from surveys.respondents.responding import Tap


def test_a_poll_button_carries_a_random_16_digit_response_id() -> None:
    data = f"p:{RANDOM_ID_MAX}:999999999:v9999"
    assert len(str(RANDOM_ID_MAX)) == 16 and len(data.encode()) <= 64
    assert parse_tap(data) == Tap(RANDOM_ID_MAX, 999_999_999, "v", 9999)


def test_poll_button_data_is_read_whole_and_in_ascii_digits() -> None:
    for forged in ("p:12:0:v5\n", "p:12:0:v5;x", "p:١٢:0:v5", "p:-12:0:v5", "p:12:0:V5",
                   "p:12:0:v12345", "p::0:v5"):
        assert parse_tap(forged) is None, forged
    # Read as a number: whether a response has it is for the use case to say ("stale").
    assert parse_tap(f"p:{10**30}:0:v5") == Tap(10**30, 0, "v", 5)
