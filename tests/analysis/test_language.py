"""Language detection: script rules, English against other Latin-script languages, mixed texts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.language import detect, script_parts


@pytest.mark.parametrize("text", ["", "   ", "😀😀👍", "12345", "!!! ???", "5/5 ⭐⭐⭐", "\n\t"])
def test_no_letters_is_undetermined(text: str) -> None:
    assert detect(text) == "und"


@pytest.mark.parametrize(
    "text",
    [
        "办事效率很高，工作人员态度很好",
        "排了三个小时队，还被推来推去",
        "不太满意",
        "好",
        "辦事效率很高，工作人員態度很好",  # traditional characters
        "服務態度差，排隊太久",
        "APP很难用",
        "很好 ok",
        "窗口工作人员很热情👍👍",
    ],
)
def test_chinese(text: str) -> None:
    assert detect(text) == "zh"


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "thanks",
        "good job",
        "too slow",
        "terrible",
        "superb",
        "The staff were friendly and the queue was short.",
        "I waited three hours and nobody helped me",
        "they sent me from one office to another",
        "Escapism in its purest form.",
        "the 办事大厅 was crowded",
        "GOOD SERVICE!!!",
        "don’t like it",
    ],
)
def test_english(text: str) -> None:
    assert detect(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, le bureau était fermé ce matin",
        "Je suis très satisfait du service",
        "Das Personal war sehr unfreundlich",
        "Vielen Dank für die schnelle Hilfe",
        "El personal fue muy amable",
        "No me ayudaron nada",
        "Спасибо, всё хорошо",  # Cyrillic
        "ありがとうございます",  # kana
        "区役所の職員はとても親切でした",  # Japanese: Han and kana
        "감사합니다",  # Hangul
    ],
)
def test_other_languages_are_undetermined(text: str) -> None:
    assert detect(text) == "und"


def test_long_texts() -> None:
    assert detect("排队时间太长了，" * 1250) == "zh"
    assert detect("The waiting time was far too long. " * 300) == "en"
    assert detect("😀" * 10_000) == "und"


def test_script_parts_splits_and_keeps_every_character() -> None:
    text = "服务很好 but the wait was long! 下次还来😀"
    parts = script_parts(text)
    assert [language for language, _ in parts] == ["zh", "en", "zh"]
    assert "".join(part for _, part in parts) == text
    assert parts[1][1].strip() == "but the wait was long!"


def test_script_parts_edge_cases() -> None:
    assert script_parts("") == []
    assert script_parts("😀 123") == [("und", "😀 123")]
    assert script_parts("  好") == [("zh", "  好")]
    assert script_parts("good") == [("en", "good")]
    assert script_parts("Спасибо 好") == [("und", "Спасибо "), ("zh", "好")]
    long = "很好" * 3000 + " fine " * 1000
    parts = script_parts(long)
    assert [language for language, _ in parts] == ["zh", "en"]
    assert "".join(part for _, part in parts) == long


def test_import_does_not_load_lingua() -> None:
    code = "import sys, analysis.language; assert 'lingua' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
