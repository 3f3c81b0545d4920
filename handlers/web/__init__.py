"""The web dashboard's pages (served by the bot process, see ``bot/web.py``): the page
handlers (:mod:`handlers.web.pages`), the Mini App's initData check
(:mod:`handlers.web.initdata`), cookies, CSRF and headers (:mod:`handlers.web.security`), with
the Jinja2 templates and the stylesheet beside them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _date(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d}"


FILTERS: dict[str, Callable[..., Any]] = {"num": _num, "pct": _pct, "date": _date}
