"""HTML / MarkdownV2 / Markdown parsing into plain text and UTF-16 entities."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.formatting import (
    EntityParseError,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    parse_text,
    strip_text,
    user_entities,
    utf16_len,
)


def spans(entities: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["type"], e["offset"], e["length"]) for e in entities]


def test_html_entities_and_nesting() -> None:
    text, entities = parse_html('<b>Hi <i>there</i></b> <a href="https://x.org/?a=1&amp;b=2">x</a>')
    assert text == "Hi there x"
    assert spans(entities) == [("bold", 0, 8), ("italic", 3, 5), ("text_link", 9, 1)]
    assert entities[2]["url"] == "https://x.org/?a=1&b=2"


def test_html_offsets_are_utf16() -> None:
    text, entities = parse_html("😀 <b>满意</b>")
    assert text == "😀 满意"
    # The emoji is two UTF-16 code units.
    assert spans(entities) == [("bold", 3, 2)]
    assert utf16_len(text) == 5


def test_html_pre_with_language_and_spoiler() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre><tg-spoiler>s</tg-spoiler>'
        '<span class="tg-spoiler">t</span><blockquote expandable>q</blockquote>'
    )
    assert text == "x = 1stq"
    assert spans(entities) == [
        ("pre", 0, 5),
        ("spoiler", 5, 1),
        ("spoiler", 6, 1),
        ("expandable_blockquote", 7, 1),
    ]
    assert entities[0]["language"] == "python"


def test_html_escapes() -> None:
    text, _ = parse_html("&lt;&gt;&amp;&quot;&#39;&#x4e2d; &nbsp; & alone")
    assert text == "<>&\"'中 &nbsp; & alone"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("满<", "Unclosed start tag at byte offset 3"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ],
)
def test_html_errors_match_telegram(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == "Bad Request: can't parse entities: " + message


@given(st.text())
def test_escaped_html_round_trips(value: str) -> None:
    text, entities = parse_html(html.escape(value))
    assert text == value and entities == []


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2(
        "*bold _italic_* __under__ ~strike~ ||spoiler|| `code` [link](https://x.org/a\\)b)"
    )
    assert text == "bold italic under strike spoiler code link"
    assert spans(entities) == [
        ("bold", 0, 11),
        ("italic", 5, 6),
        ("underline", 12, 5),
        ("strikethrough", 18, 6),
        ("spoiler", 25, 7),
        ("code", 33, 4),
        ("text_link", 38, 4),
    ]
    assert entities[-1]["url"] == "https://x.org/a)b"


def test_markdown_v2_pre_and_quote() -> None:
    text, entities = parse_markdown_v2("```python\nprint(1)\n```\n>quoted\n>more\nafter")
    assert text == "print(1)\n\nquoted\nmore\nafter"
    assert spans(entities) == [("pre", 0, 9), ("blockquote", 10, 11)]
    assert entities[0]["language"] == "python"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Thanks.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("1-2", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("(x)", "Character '(' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("满 _x", "Can't find end of Italic entity at byte offset 4"),
    ],
)
def test_markdown_v2_errors(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == "Bad Request: can't parse entities: " + message


@given(st.text())
def test_escaped_markdown_v2_round_trips(value: str) -> None:
    # Escape as PTB's helpers.escape_markdown(version=2) does, but for every reserved character.
    escaped = "".join("\\" + c if c in "_*[]()~`>#+-=|{}.!\\" else c for c in value)
    text, entities = parse_markdown_v2(escaped)
    assert text == value and entities == []


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*bold* _it_ `c` [l](https://x.org) 1.5 - ok!")
    assert text == "bold it c l 1.5 - ok!"
    assert spans(entities) == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("code", 8, 1),
        ("text_link", 10, 1),
    ]
    with pytest.raises(
        EntityParseError, match="Can't find end of the entity starting at byte offset 0"
    ):
        parse_markdown("*open")


def test_parse_text_modes() -> None:
    assert parse_text("<b>x</b>", None) == ("<b>x</b>", [])
    assert parse_text("<b>x</b>", "HTML")[0] == "x"
    with pytest.raises(EntityParseError, match="unsupported parse_mode"):
        parse_text("x", "rst")


def test_strip_moves_entities() -> None:
    text, entities = strip_text("  hello world \n", [{"type": "bold", "offset": 2, "length": 12}])
    assert text == "hello world"
    assert spans(entities) == [("bold", 0, 11)]


def test_user_entities() -> None:
    assert spans(user_entities("/start abc")) == [("bot_command", 0, 6)]
    assert spans(user_entities("/stop@civicpulse_bot")) == [("bot_command", 0, 20)]
    assert user_entities("hello /start") == []
    assert user_entities("/") == []
