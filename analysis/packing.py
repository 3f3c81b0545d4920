"""Texts packed greedily under a length limit: sentences into pieces a model reads whole,
lines and blocks into messages Telegram accepts."""

from __future__ import annotations

from collections.abc import Iterable


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
