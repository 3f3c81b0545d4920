"""Printable QR codes for campaign links (posters, service windows)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(text: str, box_size: int = 12, border: int = 4) -> bytes:
    """A black-on-white PNG of ``text`` as a QR code.

    Medium error correction survives a smudged or partly covered poster; the 4-module quiet
    zone is what scanners need; 12 px modules print sharply at A5 and larger.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
