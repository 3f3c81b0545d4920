"""Texts of the admin chat commands, in English and Chinese (merged into ``handlers.texts``)."""

from __future__ import annotations

ADMIN_TEXTS: dict[str, dict[str, str]] = {
    "admin.not_admin": {
        "en": "Sorry, this command is for admins only.",
        "zh": "抱歉，此命令仅限管理员使用。",
    },
    "admin.out_of_scope": {
        "en": "Sorry, that unit is outside the area you administer.",
        "zh": "抱歉，该单位不在您的管理范围内。",
    },
}
