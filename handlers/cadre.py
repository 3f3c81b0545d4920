"""Cadres in chat: /note, /notes and their evidence (runs in group -2)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, ContextTypes

from handlers.deps import Deps

Context = ContextTypes.DEFAULT_TYPE
Handlers = list[BaseHandler[Update, Context, None]]

CADRE_GROUP = -2


def cadre_handlers(deps: Deps) -> dict[int, Handlers]:
    return {CADRE_GROUP: []}
