"""The evidence store keeps photos under their SHA-256 and notices a swapped file."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import pytest
from PIL import Image

from sandbox.media import png_bytes
from storage.evidence import EvidenceStore, image_type


def _jpeg(width: int = 8, height: int = 6) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_real_images_are_recognised_by_their_content() -> None:
    assert image_type(png_bytes(4, 3)) == ("image/png", "png")
    assert image_type(_jpeg()) == ("image/jpeg", "jpg")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.7\n1 0 obj <<>> endobj\n",
        b"MZ\x90\x00" + b"\x00" * 60,  # an executable renamed to photo.jpg
        png_bytes(4, 3)[:30],  # cut off mid-file
        "照片".encode(),
    ],
    ids=["empty", "pdf", "exe", "truncated-png", "text"],
)
def test_anything_that_is_not_a_whole_image_is_refused(data: bytes) -> None:
    assert image_type(data) is None


def test_a_decompression_bomb_is_refused_without_decoding_it() -> None:
    # A PNG header claiming 30,000 x 30,000 pixels (900 megapixels) with a tiny body.
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    assert image_type(bomb) is None


def test_put_stores_under_the_hash_once_and_read_only(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    data = png_bytes(5, 5)
    digest = hashlib.sha256(data).hexdigest()

    first = store.put(data, "image/png", "png")
    again = store.put(data, "image/png", "png")

    assert first == again
    assert first.sha256 == digest
    assert first.path == f"{digest[:2]}/{digest}.png"
    assert first.size_bytes == len(data)
    target = tmp_path / "evidence" / first.path
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o222 == 0  # nobody writes to kept evidence
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left
    assert store.verify(first.path, digest)


def test_verify_notices_a_swapped_or_missing_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    kept = store.put(png_bytes(2, 2), "image/png", "png")
    target = tmp_path / kept.path
    target.chmod(0o644)
    target.write_bytes(png_bytes(2, 2, rgb=(0, 0, 0)))  # someone swaps the photo

    assert not store.verify(kept.path, kept.sha256)
    target.unlink()
    assert not store.verify(kept.path, kept.sha256)
