"""What the bot says to inspectors (/inspect)."""

from __future__ import annotations

INSPECTOR_TEXTS: dict[str, dict[str, str]] = {}
