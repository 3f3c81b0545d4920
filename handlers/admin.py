"""Admin commands in chat (filled in by the admin-chat work)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, ContextTypes

from handlers.deps import Deps

Handlers = list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]


def admin_handlers(deps: Deps) -> dict[int, Handlers]:
    """Handlers by group: group -1 runs before the resident journey (group 0)."""
    return {}
