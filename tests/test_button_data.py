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


def test_case_buttons_fit_with_the_largest_ids() -> None:
    from handlers import cases_resident_render as cases
    from surveys.cases.drafts import choice_data
    from surveys.cases.offer import CaseOffer

    number, category = "C-ZZZZZZ", "a" * 32
    samples = [
        choice_data("abcdef", 999_999_999, f"u{RANDOM_ID_MAX}"),
        *(b.callback_data for row in cases.offer_keyboard(
            CaseOffer(RANDOM_ID_MAX, category, True), "en").inline_keyboard for b in row),
        *(b.callback_data for row in cases.reply_keyboard(
            number, RANDOM_ID_MAX, "en").inline_keyboard for b in row),
        *(b.callback_data for row in cases.solved_keyboard(
            number, 999_999_999, "en").inline_keyboard for b in row),
    ]
    patterns = [cases.DRAFT_TAP, cases.OFFER_TAP, cases.OFFER_TAP, cases.REPLY_TAP,
                cases.ANSWER_TAP, cases.ANSWER_TAP, cases.ANSWER_TAP]
    for data, pattern in zip(samples, patterns, strict=True):
        assert isinstance(data, str) and len(data.encode()) <= 64, data
        assert pattern.fullmatch(data), data
