"""Summaries shortened between words, never inside one; and where a Mini App may go on to."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.dashboard import shorten
from handlers.web.pages import _next

# Words of a script written with spaces: Han and kana have a boundary between any two
# characters, so a cut between them cuts no word (see analysis.packing.clip).
WORD = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), max_codepoint=0x2000),
               min_size=1, max_size=12)


@given(st.lists(WORD, min_size=1, max_size=60), st.integers(min_value=13, max_value=300))
def test_shortened_at_a_word(words: list[str], size: int) -> None:
    text = " ".join(words)
    short = shorten(text, size)
    if len(text) <= size:
        assert short == text
        return
    assert short.endswith("…") and len(short) <= size
    kept = short[:-1].split()
    assert kept == words[:len(kept)], "whole words, in order, from the start"


def test_punctuation_before_the_cut_is_dropped() -> None:
    assert shorten("Scores were shrunk, as always; the rest follows", 30) == (
        "Scores were shrunk, as always…")
    assert shorten("  many   spaces\nand lines  ", 100) == "many spaces and lines"


def test_a_mini_app_goes_on_only_to_a_page_of_this_site() -> None:
    assert _next("/result/12") == "/result/12"
    assert _next("/ranking/2026-Q3?unit=4") == "/ranking/2026-Q3?unit=4"
    for bad in ("//evil.example", "/\\evil.example", "https://evil.example", "", None,
                "/a b", "javascript:alert(1)", "/" + "a" * 300):
        assert _next(bad) == "/", bad
