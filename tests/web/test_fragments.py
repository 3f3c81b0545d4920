"""Parts of pages rendered once (handlers/web/fragments.py): the key is what they show, and
the kept ones stay within their size."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from markupsafe import Markup

from handlers.web.fragments import Fragments


def test_a_part_is_rendered_once_per_key_and_the_key_is_its_content() -> None:
    made: list[str] = []

    def make(text: str) -> Callable[[], Markup]:
        def render() -> Markup:
            made.append(text)
            return Markup(text)
        return render

    kept = Fragments()
    same = Fragments.key("2026-Q4", 1, "en", (1, 2, 3))
    assert kept.get(same, make("a")) == "a"
    assert kept.get(Fragments.key("2026-Q4", 1, "en", (1, 2, 3)), make("b")) == "a"
    assert made == ["a"], "the same rows: rendered once"
    for other in (("2026-Q4", 2, "en", (1, 2, 3)), ("2026-Q4", 1, "zh", (1, 2, 3)),
                  ("2026-Q4", 1, "en", (1, 2))):
        assert kept.get(Fragments.key(*other), make("c")) == "c"
    assert made == ["a", "c", "c", "c"], "another version, language or rows: another part"


def test_the_oldest_parts_leave_past_the_size() -> None:
    kept = Fragments(max_chars=10)
    for name in ("one", "two", "three", "four"):
        kept.get(name, partial(Markup, name * 2))
    assert list(kept._kept) == ["four"]
    assert kept.get("huge", lambda: Markup("x" * 11)) == "x" * 11 and "huge" not in kept._kept
