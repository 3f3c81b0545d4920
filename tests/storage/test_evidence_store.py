"""The evidence store keeps photos under their SHA-256 and notices a swapped file; a
resident's photo is re-encoded without its metadata."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from sandbox.media import png_bytes
from storage.evidence import EvidenceStore, image_type, without_metadata


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


# --- residents' photos: kept without their metadata -----------------------------------------

GPS_IFD, ORIENTATION, TAKEN_AT = 0x8825, 0x0112, 0x9003


def phone_jpeg(orientation: int = 1, *, icc: bytes | None = None) -> bytes:
    """A 40x30 JPEG as a phone writes it: EXIF with where (GPS) and when it was taken, an
    orientation, a comment and XMP; an ICC profile if given."""
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    image.paste((10, 10, 220), (0, 0, 10, 30))  # a blue left edge, to see where it went
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[TAKEN_AT] = "2026:12:06 07:41:09"
    exif[GPS_IFD] = {1: "N", 2: (30.0, 5.0, 12.5), 3: "E", 4: (120.0, 2.0, 48.25)}
    buffer = io.BytesIO()
    options: dict[str, object] = {"exif": exif, "comment": b"Taken by Li's phone",
                                  "xmp": b"<x:xmpmeta>CreateDate 2026-12-06</x:xmpmeta>"}
    if icc is not None:
        options["icc_profile"] = icc
    image.save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def phone_mpo() -> bytes:
    """A multi-picture JPEG (MPO) as a phone writes a portrait shot: the photo (as
    :func:`phone_jpeg`, with its EXIF) and a second picture (a green depth map here) with
    EXIF of its own."""
    with Image.open(io.BytesIO(phone_jpeg())) as first:
        first.load()
        exif = first.getexif()
        second = Image.new("RGB", (40, 30), (20, 200, 20))
        buffer = io.BytesIO()
        first.save(buffer, format="MPO", save_all=True, append_images=[second], exif=exif)
    return buffer.getvalue()


def metadata(data: bytes) -> dict[str, object]:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {"exif": dict(exif), "gps": dict(exif.get_ifd(GPS_IFD)),
                "info": {k: v for k, v in image.info.items()
                         if k in ("exif", "comment", "xmp", "icc_profile")}}


def test_a_phone_photo_loses_where_and_when_it_was_taken() -> None:
    data = phone_jpeg()
    assert metadata(data)["gps"], "the test photo says where it was taken"
    clean = without_metadata(data)
    assert metadata(clean) == {"exif": {}, "gps": {}, "info": {}}
    for trace in (b"2026:12:06", b"Li's phone", b"xmpmeta", b"GPS"):
        assert trace not in clean, trace
    assert image_type(clean) == ("image/jpeg", "jpg")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (40, 30)
    assert without_metadata(data) == clean, "the same photo twice is kept once"


def test_the_orientation_is_applied_before_it_goes() -> None:
    # Orientation 6: the camera stored it on its side; shown upright, it is 30 wide, 40 high
    # and its blue edge is at the top.
    clean = without_metadata(phone_jpeg(orientation=6))
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (30, 40) and ORIENTATION not in image.getexif()
        red, _green, blue = image.convert("RGB").getpixel((15, 2))
        assert blue > 150 and red < 100


def test_a_colour_profile_is_converted_to_srgb_and_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    clean = without_metadata(phone_jpeg(icc=srgb))
    assert metadata(clean)["info"] == {}
    with Image.open(io.BytesIO(clean)) as image:
        red, green, blue = image.convert("RGB").getpixel((30, 15))
    assert max(abs(red - 200), abs(green - 30), abs(blue - 30)) < 12


def test_png_text_chunks_go_and_transparency_stays() -> None:
    image = Image.new("RGBA", (6, 4), (0, 0, 0, 0))
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text("Comment", "sent from Mill Road at 7:41")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=chunks)
    clean = without_metadata(buffer.getvalue())
    assert b"Mill Road" not in clean
    with Image.open(io.BytesIO(clean)) as kept:
        assert kept.mode == "RGBA" and kept.getpixel((0, 0)) == (0, 0, 0, 0)


def test_a_multi_picture_jpeg_keeps_its_first_picture_alone() -> None:
    """Phones write portrait and depth shots as MPO: accepted as a JPEG (what any viewer
    shows of it), and a resident's is kept as a plain JPEG of its first picture, without the
    others or anyone's metadata."""
    data = phone_mpo()
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, getattr(image, "n_frames", 1)) == ("MPO", 2)
    assert metadata(data)["gps"], "the test photo says where it was taken"
    assert image_type(data) == ("image/jpeg", "jpg")
    clean = without_metadata(data)
    assert metadata(clean) == {"exif": {}, "gps": {}, "info": {}}
    assert b"2026:12:06" not in clean and b"GPS" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert (image.format, getattr(image, "n_frames", 1), image.size) == ("JPEG", 1, (40, 30))
        red, green, _blue = image.convert("RGB").getpixel((30, 15))  # type: ignore[misc]
        assert red > 150 and green < 100, "the photo, not the second picture"
        assert "mp" not in image.info and "mpinfo" not in image.info
    assert without_metadata(data) == clean, "the same photo twice is kept once"
