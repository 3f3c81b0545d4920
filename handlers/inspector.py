"""Inspectors in chat: /inspect (runs in group -3)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, ContextTypes

from handlers.deps import Deps

Context = ContextTypes.DEFAULT_TYPE
Handlers = list[BaseHandler[Update, Context, None]]

INSPECTOR_GROUP = -3


def inspector_handlers(deps: Deps) -> dict[int, Handlers]:
    return {INSPECTOR_GROUP: []}
