"""The poster command and the public page: with web.public_url set, `campaign qr` also writes
a second code, for the unit's public results page."""

from __future__ import annotations

from pathlib import Path

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from bot.cli import main
from tests.test_cli import TEMPLATE, UNITS_CSV, env, write  # noqa: F401


def _modules(png: Path) -> list[list[bool]]:
    with Image.open(png) as image:
        pixels = image.convert("L")
        size = image.size[0] // 12 - 8
        return [[pixels.getpixel(((4 + x) * 12 + 6, (4 + y) * 12 + 6)) < 128
                 for x in range(size)] for y in range(size)]


def _matrix(text: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def test_the_poster_gets_a_second_code_for_the_public_page(
    env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    (env / "config.yaml").write_text("bot:\n  username: WillowPollBot\n"
                                     "web:\n  public_url: https://pulse.example.org/\n")
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "window-3"]) == 0
    capsys.readouterr()
    assert main(["campaign", "qr", "window-3", "-o", str(env / "poster.png")]) == 0
    out = capsys.readouterr().out
    page = "https://pulse.example.org/p/v1"
    assert f"poster-results.png: QR code for the public results page {page}" in out
    assert _modules(env / "poster-results.png") == _matrix(page)
    assert _modules(env / "poster.png") == _matrix("https://t.me/WillowPollBot?start=window-3")


def test_no_second_code_without_a_public_address(
    env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "window-3"]) == 0
    assert main(["campaign", "qr", "window-3", "-o", str(env / "poster.png")]) == 0
    assert "results page" not in capsys.readouterr().out
    assert not (env / "poster-results.png").exists()
