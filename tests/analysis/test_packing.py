"""The one text packer: greedy packing under a limit, and clipping at a word boundary (the
issue that met "shrunk toward the averag…" in chat)."""

from __future__ import annotations

import pytest

from analysis.packing import ELLIPSIS, clip, pack_greedily


def test_a_text_that_fits_is_left_alone() -> None:
    assert clip("Willow Village", 14) == "Willow Village"
    assert clip("", 5) == ""


def test_a_long_text_is_cut_between_words_never_inside_one() -> None:
    text = "The score is shrunk toward the average of all units"
    for limit in range(8, len(text)):
        shown = clip(text, limit)
        assert len(shown) <= limit and shown.endswith(ELLIPSIS)
        kept = shown.removesuffix(ELLIPSIS)
        assert text.startswith(kept)
        # What is kept ends a word of the text: the next character is not a letter.
        assert not text[len(kept)].isalnum(), (limit, shown)
    assert clip(text, 34) == "The score is shrunk toward the…"


def test_a_hyphenated_word_is_one_word() -> None:
    assert clip("Higher than the self-assessment of the cadre", 25) == "Higher than the…"
    assert clip("The residents don't agree at all", 19) == "The residents…"
    assert clip("Roads - lighting - drains", 18) == "Roads - lighting…"


def test_punctuation_before_the_cut_is_not_left_dangling() -> None:
    assert clip("Roads, lighting, drains and pavements", 20) == "Roads, lighting…"


def test_chinese_can_be_cut_between_any_two_characters() -> None:
    text = "柳村的道路维修很及时，工作人员态度很好"
    assert clip(text, 8) == "柳村的道路维修…"


def test_one_word_longer_than_the_room_is_cut_rather_than_lost() -> None:
    assert clip("Supercalifragilistic", 10) == "Supercali…"


def test_a_measure_other_than_len_counts_the_room() -> None:
    def utf16(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    shown = clip("🙂🙂 good work at the window", 12, utf16)
    assert utf16(shown) <= 12 and shown == "🙂🙂 good…"


@pytest.mark.parametrize("limit", [0, 1])
def test_no_room_at_all(limit: int) -> None:
    assert clip("words", limit) == ("…" if limit else "")


def test_pack_greedily_joins_parts_under_the_limit() -> None:
    assert pack_greedily(["aa", "bb", "cc"], "\n", 5) == ["aa\nbb", "cc"]
    assert pack_greedily([], "\n", 5) == []
