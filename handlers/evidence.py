"""Receiving photo evidence: fetch it through the Bot API (getFile), check it, keep it.

Shared by cadres' notes, inspectors' records, case resolutions and residents' case photos. A
photo is refused before download when
Telegram already says it is too large, and after download when it is not a readable image
(the sender's file name and type are not trusted). A forwarded photo (or location) is refused
outright: someone else's, or an old one, is no evidence of what was seen on site.

Staff photos are kept byte for byte: their metadata (when and where a photo was taken) is part
of the evidence. A resident's are kept without it (``strip_metadata``): a file's EXIF would
say when, and often where, the person took it, which the case must not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from telegram import Message
from telegram.error import BadRequest

from handlers.deps import Deps
from storage.evidence import StoredFile, image_type, without_metadata


class EvidenceRefused(Exception):
    """The file cannot be kept; ``key`` names the text, ``params`` fill it."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class ReceivedPhoto:
    stored: StoredFile
    file_unique_id: str


def forwarded(message: Message) -> bool:
    """Whether the message was forwarded (from anyone: another person, a channel, a hidden
    sender, or the person's own earlier message)."""
    return message.forward_origin is not None


def refuse_forwarded(message: Message) -> None:
    """Evidence must be the sender's own, sent from where they are.

    Raises:
        EvidenceRefused: ``evidence.forwarded``.
    """
    if forwarded(message):
        raise EvidenceRefused("evidence.forwarded")


def has_photo(message: Message) -> bool:
    """A photo, or a file sent "as a document" (uncompressed, or not an image at all)."""
    return bool(message.photo) or message.document is not None


async def receive_photo(deps: Deps, message: Message, *,
                        strip_metadata: bool = False) -> ReceivedPhoto:
    """Download the photo in ``message`` and keep it under its SHA-256; with
    ``strip_metadata``, re-encoded without its metadata first (the hash is the kept bytes').

    Raises:
        EvidenceRefused: ``evidence.forwarded`` (nothing is downloaded),
            ``evidence.too_large`` (with ``limit_mb``), ``evidence.not_image`` or
            ``evidence.unavailable`` (Telegram would not hand the file over).
    """
    refuse_forwarded(message)
    limit = deps.fieldwork.max_photo_bytes
    if message.photo:
        size = message.photo[-1]  # Telegram lists the sizes smallest first
        file_id, unique, declared = size.file_id, size.file_unique_id, size.file_size
    elif message.document is not None:
        document = message.document
        mime = (document.mime_type or "").lower()
        if mime and not mime.startswith("image/"):
            raise EvidenceRefused("evidence.not_image")
        file_id, unique, declared = document.file_id, document.file_unique_id, document.file_size
    else:
        raise EvidenceRefused("evidence.not_image")
    if declared is not None and declared > limit:
        raise EvidenceRefused("evidence.too_large", limit_mb=_megabytes(limit))
    try:
        telegram_file = await message.get_bot().get_file(file_id)
        if telegram_file.file_size is not None and telegram_file.file_size > limit:
            raise EvidenceRefused("evidence.too_large", limit_mb=_megabytes(limit))
        data = bytes(await telegram_file.download_as_bytearray())
    except BadRequest as exc:
        # "file is too big" (over the Bot API's 20 MB) or a file id Telegram no longer has.
        if "too big" in str(exc).lower():
            raise EvidenceRefused("evidence.too_large", limit_mb=_megabytes(limit)) from exc
        raise EvidenceRefused("evidence.unavailable") from exc
    if len(data) > limit:
        raise EvidenceRefused("evidence.too_large", limit_mb=_megabytes(limit))
    kind = await asyncio.to_thread(image_type, data)
    if kind is None:
        raise EvidenceRefused("evidence.not_image")
    if strip_metadata:
        data = await asyncio.to_thread(without_metadata, data)
    stored = await asyncio.to_thread(deps.evidence.put, data, kind[0], kind[1])
    return ReceivedPhoto(stored, unique)


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"
