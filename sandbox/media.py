"""Files for the sandbox: image sniffing, an in-memory file store, and a tiny PNG maker.

Telegram identifies every stored file by a ``file_id`` (what bots pass around and re-send) and
a ``file_unique_id`` (stable, not usable for downloads), and hands out a ``file_path`` through
``getFile`` for ``GET /file/bot<token>/<file_path>``. The sandbox keeps the bytes in a dict, so
tests leave no files behind; a sandbox with a state directory also saves them there.

Unlike Telegram, the sandbox never recompresses a photo: the bytes a bot or user uploads are the
bytes that are downloaded, so tests can compare them exactly.
"""

from __future__ import annotations

import base64
import mimetypes
import re
import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

__all__ = [
    "FileLimits",
    "FileStore",
    "ImageInfo",
    "NewFile",
    "StoredFile",
    "Upload",
    "guess_mime_type",
    "is_mime_type",
    "png_bytes",
    "sniff_image",
]

MB = 1024 * 1024

# Telegram prefixes file ids by type; the sandbox mimics that so ids look familiar in logs.
_ID_PREFIX = {"photo": "AgAC", "document": "BQAC"}
_FOLDER = {"photo": "photos", "document": "documents"}
_IMAGE_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
                     "image/webp": ".webp"}  # fmt: skip
_MIME = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


@dataclass(frozen=True, slots=True)
class FileLimits:
    """Telegram's size limits for bots, in bytes.

    Attributes:
        photo: largest photo upload (sendPhoto; also what a user may send as a photo).
        document: largest other upload (sendDocument); Telegram answers 413 above it.
        download: largest file getFile hands a path for ("file is too big" above it).
    """

    photo: int = 10 * MB
    document: int = 50 * MB
    download: int = 20 * MB


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart/form-data request, read into memory."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header of a supported image says."""

    mime_type: str
    width: int
    height: int


def sniff_image(data: bytes) -> ImageInfo | None:
    """The type and size of a PNG, JPEG, GIF or WebP image, from its header; None otherwise.

    An image whose header is cut short or declares a zero size is None too: Telegram could not
    process it either.
    """
    size: tuple[int, int] | None = None
    mime: str | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime, size = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        mime, size = "image/jpeg", _jpeg_size(data)
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        mime, size = "image/gif", struct.unpack("<HH", data[6:10])
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime, size = "image/webp", _webp_size(data)
    if mime is None or size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return ImageInfo(mime, size[0], size[1])


def _png_size(data: bytes) -> tuple[int, int] | None:
    # The first chunk must be IHDR: length, type, then width and height as big-endian u32.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# Start-of-frame markers carry the size; C4 (Huffman tables), C8 (reserved) and CC (arithmetic
# coding conditioning) share the range but are not frames.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at, end = 2, len(data)
    while at + 4 <= end:
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        at += 2
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        (length,) = struct.unpack(">H", data[at : at + 2])
        if marker in _JPEG_SOF:
            if at + 7 > end:
                return None
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return width, height
        if length < 2:
            return None
        at += length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def is_mime_type(value: str) -> bool:
    """Whether ``value`` looks like ``type/subtype`` (safe to send back in a Content-Type)."""
    return bool(_MIME.match(value))


def guess_mime_type(filename: str | None, declared: str | None, data: bytes) -> str:
    """A document's MIME type: from its name first (as Telegram does), then the type the upload
    declared, then the content if it is an image; ``application/octet-stream`` otherwise."""
    if filename:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed and _MIME.match(guessed):
            return guessed
    if declared:
        declared = declared.split(";", 1)[0].strip().lower()
        if _MIME.match(declared) and declared != "application/octet-stream":
            return declared
    image = sniff_image(data)
    return image.mime_type if image is not None else "application/octet-stream"


def png_bytes(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (51, 144, 236)) -> bytes:
    """A valid PNG of one colour, for tests and demos that need a real image without Pillow."""
    if not (0 < width <= 10_000 and 0 < height <= 10_000):
        raise ValueError("width and height must be between 1 and 10000")
    row = b"\x00" + bytes(rgb) * width  # filter type 0, then RGB pixels

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True, slots=True)
class NewFile:
    """A checked upload, not stored yet: a refused call must leave the store unchanged."""

    kind: str  # "photo" or "document"
    data: bytes
    mime_type: str
    file_name: str | None = None
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the sandbox holds, with the Bot API objects that describe it."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str
    file_name: str | None = None
    width: int = 0
    height: int = 0

    @property
    def file_size(self) -> int:
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        """A PhotoSize."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width,
            "height": self.height,
        }

    def document(self) -> dict[str, Any]:
        """A Document."""
        out: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "mime_type": self.mime_type,
        }
        if self.file_name:
            out["file_name"] = self.file_name
        return out

    def file(self) -> dict[str, Any]:
        """A File, as getFile returns it."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


class FileStore:
    """Files by ``file_id`` and by ``file_path``.

    ``on_add`` is told of every new file (the sandbox saves it when it keeps its state).
    """

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self.next_number = 1
        self.total_bytes = 0
        self.on_add: Callable[[StoredFile], None] | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def add(self, new: NewFile) -> StoredFile:
        number = self.next_number
        self.next_number += 1
        # A counter keeps ids unique; random bytes keep them unguessable, as Telegram's are.
        file_id = _ID_PREFIX[new.kind] + _b64(secrets.token_bytes(12) + struct.pack(">Q", number))
        unique_id = "AQAD" + _b64(secrets.token_bytes(2) + struct.pack(">I", number))
        path = f"{_FOLDER[new.kind]}/file_{number}{_extension(new)}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=new.kind,
            data=new.data,
            file_path=path,
            mime_type=new.mime_type,
            file_name=new.file_name,
            width=new.width,
            height=new.height,
        )
        self._put(stored)
        if self.on_add is not None:
            self.on_add(stored)
        return stored

    def restore(self, stored: StoredFile) -> None:
        """Put back a file saved by an earlier run."""
        self._put(stored)

    def _put(self, stored: StoredFile) -> None:
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        self.total_bytes += len(stored.data)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _extension(new: NewFile) -> str:
    if new.mime_type in _IMAGE_EXTENSIONS:
        return _IMAGE_EXTENSIONS[new.mime_type]
    if new.file_name:
        suffix = PurePosixPath(new.file_name.replace("\\", "/")).suffix
        if _EXTENSION.match(suffix):
            return suffix.lower()
    return mimetypes.guess_extension(new.mime_type, strict=False) or ""
