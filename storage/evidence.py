"""Evidence files (photos), kept under their SHA-256 so a swapped file is detectable.

Files are written once, atomically, to ``<root>/<first two hex digits>/<sha256>.<ext>``; the
same photo sent twice is stored once. The database and the audit log record the hash, and
:meth:`EvidenceStore.verify` recomputes it.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# What Pillow reports, mapped to the media type and file extension we keep.
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
# Pillow's guard against decompression bombs, made strict: a photo is never this large.
MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: str  # relative to the store's root
    size_bytes: int
    media_type: str


def image_type(data: bytes) -> tuple[str, str] | None:
    """``(media type, extension)`` when ``data`` is a whole, readable image; else None.

    Decides by decoding, not by the name or the type the sender claims.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                kind = image.format
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    return IMAGE_FORMATS.get(kind or "")


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, media_type: str, extension: str) -> StoredFile:
        """Keep ``data``; blocking file I/O, so call it with ``asyncio.to_thread``."""
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}.{extension}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written under a temporary name and renamed, so a crash never leaves half a file
            # under a hash it does not have.
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temporary, 0o444)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredFile(digest, relative, len(data), media_type)

    def read(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()

    def verify(self, relative: str, sha256: str) -> bool:
        """Whether the file is there and still has the recorded hash."""
        try:
            return hashlib.sha256(self.read(relative)).hexdigest() == sha256
        except OSError:
            return False
