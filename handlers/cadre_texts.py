"""What the bot says to cadres (/note, /notes, invite links, self-assessments)."""

from __future__ import annotations

CADRE_TEXTS: dict[str, dict[str, str]] = {
    # Photo evidence, for notes and inspections alike.
    "evidence.too_large": {
        "en": "That file is too large: photos up to {limit_mb} MB are kept. Nothing was saved.",
        "zh": "文件太大：只保存不超过 {limit_mb} MB 的照片。未保存任何内容。",
    },
    "evidence.not_image": {
        "en": "That is not a photo I can read (JPEG, PNG, WebP or GIF). Nothing was saved.",
        "zh": "无法识别为照片（支持 JPEG、PNG、WebP 或 GIF）。未保存任何内容。",
    },
    "evidence.unavailable": {
        "en": "Telegram would not hand that file over; please send it again.",
        "zh": "无法从 Telegram 获取该文件，请重新发送。",
    },
}
