"""The deployment examples in docs/deploy agree with the code and with each other: the unit's
command parses and its settings load, and nginx forwards the webhook's path to the port the
bot listens on."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from bot.cli import build_parser
from bot.settings import load_settings

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "civicpulse.service")
    return parser


def test_the_units_command_is_a_valid_run() -> None:
    service = unit()["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/.venv/bin/civicpulse")
    args = build_parser().parse_args(command[1:])
    assert args.command == "run" and args.workers == 2
    assert service["KillSignal"] == "SIGTERM"
    # Long enough for the workers' drain (bot.workers.STOP_WAIT_S) to finish first.
    assert int(service["TimeoutStopSec"].removesuffix("s")) >= 45


def test_the_config_is_valid_and_nginx_forwards_the_webhook_to_the_bot() -> None:
    settings = load_settings(DEPLOY / "config.yaml", environ={})
    assert settings.webhook.url is not None
    assert settings.webhook.url.startswith("https://")
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert f"location = {settings.webhook.path} {{" in nginx
    upstream = re.search(r"upstream civicpulse \{\s*(?:#[^\n]*\n\s*)*server ([\d.]+):(\d+);",
                         nginx)
    assert upstream is not None
    assert (upstream.group(1), int(upstream.group(2))) == (settings.web.host, settings.web.port)
    # The dashboard's sign-in limits count the address nginx passes on.
    assert settings.web.trust_forwarded_for and "X-Forwarded-For" in nginx
    assert settings.web.public_url is not None and settings.web.public_url in settings.webhook.url
