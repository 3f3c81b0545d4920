"""The dashboard's settings (web.* in config.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings


def settings_with(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_settings(path, environ={})


def test_defaults_and_a_public_https_address(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "web: {public_url: 'https://civic.example.org/'}\n")
    web = settings.web
    assert (web.enabled, web.host, web.port) == (True, "127.0.0.1", 8081)
    assert web.public_url == "https://civic.example.org" and web.secure
    assert not settings_with(tmp_path, "web: {public_url: 'http://10.0.0.5:8081'}\n").web.secure


@pytest.mark.parametrize("text, key", [
    ("web: {public_url: 'ftp://x'}\n", "web.public_url"),
    ("web: {public_url: 'https://x/?a=1'}\n", "web.public_url"),
    ("web: {port: 70000}\n", "web.port"),
    ("web: {init_data_max_age_s: 1}\n", "web.init_data_max_age_s"),
    ("web: {link_valid_minutes: 0}\n", "web.link_valid_minutes"),
    ("web: {colour: blue}\n", "web.colour"),
])
def test_wrong_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        settings_with(tmp_path, text)
