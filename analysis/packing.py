"""Texts packed greedily under a length limit: sentences into pieces a model reads whole,
lines and blocks into messages Telegram accepts; and texts clipped to a length at a word
boundary (never "shrunk toward the averag…"), for every place chat output shortens a text."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def pack_greedily(parts: Iterable[str], separator: str, limit: int) -> list[str]:
    """``parts`` (each at most ``limit`` long), in order, joined by ``separator`` into as few
    texts of at most ``limit`` characters as that allows; empty parts before any text are
    dropped."""
    packed: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + len(separator) + len(part) > limit:
            packed.append(current)
            current = part
        else:
            current = f"{current}{separator}{part}" if current else part
    if current:
        packed.append(current)
    return packed


ELLIPSIS = "…"


def _spaced(char: str) -> bool:
    """A character of a script that separates words by spaces (Latin, Cyrillic, digits...):
    cutting between two of them cuts a word. Han, kana and the like are written without
    spaces, so any place between two of them is a boundary."""
    return char.isalnum() and not ("\u2e80" <= char <= "\ua4cf" or "\uac00" <= char <= "\ud7af"
                                   or "\uf900" <= char <= "\ufaff")


_JOINERS = "-'’"


def _joins(text: str, at: int) -> bool:
    """``text[at]`` is a hyphen or apostrophe inside a word ("self-assessment", "don't")."""
    return (0 < at < len(text) - 1 and text[at] in _JOINERS and _spaced(text[at - 1])
            and _spaced(text[at + 1]))


def _inside(text: str, cut: int) -> bool:
    """Cutting ``text`` before ``text[cut]`` would cut a word ("Self-" of "Self-assessment"
    is as much a cut word as "averag")."""
    return ((_spaced(text[cut - 1]) or _joins(text, cut - 1))
            and (_spaced(text[cut]) or _joins(text, cut)))


def clip(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """``text`` if it fits in ``limit`` (as ``measure`` counts), else its longest start that
    ends at a word boundary, followed by "…", within ``limit``. Only a text whose start has no
    boundary at all (one long word, a link) is cut inside that word."""
    if measure(text) <= limit:
        return text
    room = limit - measure(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS if limit >= measure(ELLIPSIS) else ""
    end, used = 0, 0
    for char in text:
        used += measure(char)
        if used > room:
            break
        end += 1
    cut = end
    # Back off while the cut falls inside one word.
    while cut > 0 and _inside(text, cut):
        cut -= 1
    if cut == 0:
        cut = end  # one word longer than the room: cut it rather than show nothing
    kept = text[:cut].rstrip(" \t\n,;:-–—(")
    return (kept or text[:end]) + ELLIPSIS
