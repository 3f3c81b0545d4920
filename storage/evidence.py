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

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# What Pillow reports, mapped to the media type and file extension we keep.
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    # A multi-picture JPEG (phones' portrait, depth or stereo shots): a JPEG whose first
    # picture any viewer shows, the others appended.
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
# Pillow's guard against decompression bombs, made strict: a photo is never this large.
MAX_PIXELS = 50_000_000
# A photo re-encoded without its metadata: JPEG and WebP quality when the pixels had to change
# (turned upright, or converted to sRGB); an unchanged JPEG keeps its own quantisation.
REENCODE_QUALITY = 90
# What Pillow keeps in ``Image.info`` that is about the pixels, not the photo's history.
_PIXEL_INFO = ("transparency",)


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


def without_metadata(data: bytes) -> bytes:
    """The image re-encoded in its own format with nothing but its pixels: no EXIF (the time
    it was taken, often where, the camera), XMP, ICC profile, comments or text chunks; of a
    multi-picture JPEG (MPO), the first picture alone, as a JPEG.

    The EXIF orientation is applied first and colours in another profile are converted to
    sRGB, so the photo looks as it did. The same bytes in give the same bytes out, so a photo
    sent twice is still kept once. ``data`` must be an image :func:`image_type` accepts;
    blocking, so call it with ``asyncio.to_thread``.
    """
    with Image.open(io.BytesIO(data)) as image:
        # A multi-picture JPEG keeps its first picture only, as a plain JPEG: the others
        # (and their own EXIF) go.
        kind = "JPEG" if image.format == "MPO" else image.format or "PNG"
        image.seek(0)
        image.load()
        changed = ImageOps.exif_transpose(image) if _turned(image) else None
        pixels = changed or image
        profile = pixels.info.get("icc_profile")
        if profile:
            pixels = _in_srgb(pixels, profile)
        kept = {key: pixels.info[key] for key in _PIXEL_INFO if key in pixels.info}
        pixels.info.clear()
        pixels.info.update(kept)
        options: dict[str, object] = {}
        if kind == "JPEG":
            # Untouched pixels: re-encoded with their own tables, so nothing is lost twice.
            untouched = pixels is image and image.format == "JPEG"  # "keep" needs a JPEG
            options = ({"quality": "keep", "subsampling": "keep"} if untouched
                       else {"quality": REENCODE_QUALITY})
        elif kind == "WEBP":
            options = {"quality": REENCODE_QUALITY}
        out = io.BytesIO()
        pixels.save(out, format=kind, **options)
    return out.getvalue()


def _turned(image: Image.Image) -> bool:
    """Whether the EXIF orientation says the pixels are stored other than upright."""
    return image.getexif().get(0x0112, 1) not in (0, 1)


def _in_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """The pixels converted from their ICC profile to sRGB (a profile Pillow cannot read: as
    they are), the profile itself dropped: it can name the device and date the photo."""
    if image.mode not in ("RGB", "RGBA"):
        return image
    try:
        return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                         ImageCms.createProfile("sRGB"),
                                         outputMode=image.mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


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
