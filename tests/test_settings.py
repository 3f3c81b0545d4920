"""config.yaml and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import resolve_secret
from bot.settings import ConfigError, Settings, load_settings

REPO_CONFIG = Path(__file__).parent.parent / "config.yaml"


def test_the_shipped_config_is_valid_and_matches_the_defaults() -> None:
    shipped = load_settings(REPO_CONFIG, environ={})
    defaults = Settings(config_path=REPO_CONFIG)
    assert shipped.model_dump() == defaults.model_dump()


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(
        REPO_CONFIG,
        environ={
            "DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "TELEGRAM_BOT_TOKEN": "42:abc",
            "TELEGRAM_API_URL": "http://127.0.0.1:9999/",
            "CIVICPULSE_SECRET_KEY": "s" * 32,
        },
    )
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "42:abc"
    assert "42:abc" not in repr(settings), "secrets never show in logs"
    assert settings.telegram_api_url == "http://127.0.0.1:9999"
    assert not settings.uses_sandbox


def test_default_database_is_sqlite_under_var() -> None:
    settings = load_settings(REPO_CONFIG, environ={})
    assert settings.database_url == "sqlite+aiosqlite:///var/civicpulse.db"
    assert settings.uses_sandbox


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bot:\n  default_language: fr\n", "bot.default_language: Input should be 'en' or 'zh'"),
        ("bot:\n  concurrent_updates: 0\n", "bot.concurrent_updates: Input should be greater"),
        ("databse:\n  url: x\n", "databse: unknown key"),
        ("sandbox:\n  chat_limit: {rate: 1}\n", "sandbox.chat_limit.burst: Field required"),
        ("- just\n- a list\n", "(top level): expected a mapping"),
        ("bot: [unclosed\n", "line 2"),
        ("privacy:\n  hold_window_minutes: 90\n",
         "privacy.hold_window_minutes: Input should be less than or equal to 60"),
        ("privacy:\n  hold_window_minutes: 0\n",
         "privacy.hold_window_minutes: Input should be greater than or equal to 1"),
        ("privacy:\n  hold_residents_entries: maybe\n",
         "privacy.hold_residents_entries: Input should be a valid boolean"),
    ],
)
def test_invalid_config_names_file_key_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_a_missing_named_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(environ={"CIVICPULSE_CONFIG": str(tmp_path / "nope.yaml")})


def test_secret_is_required_with_a_token_and_generated_for_the_sandbox(tmp_path: Path) -> None:
    with_token = load_settings(REPO_CONFIG, environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    with pytest.raises(ConfigError, match="CIVICPULSE_SECRET_KEY"):
        resolve_secret(with_token)
    short = load_settings(REPO_CONFIG, environ={"CIVICPULSE_SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="at least 16"):
        resolve_secret(short)
    sandbox = load_settings(REPO_CONFIG, environ={"CIVICPULSE_VAR_DIR": str(tmp_path)})
    first = resolve_secret(sandbox)
    assert len(first) == 64 and resolve_secret(sandbox) == first, "kept across restarts"
