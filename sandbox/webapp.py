"""Mini Apps (``web_app`` buttons): what Telegram's app does when one is tapped.

Telegram opens the button's https address in a web view, with the signed ``initData`` after
``#tgWebAppData=`` (and the app's version and platform after it). The signature is Telegram's
documented one: ``hash`` is the hex HMAC-SHA256, keyed by HMAC-SHA256("WebAppData", bot token),
of the other ``key=value`` pairs sorted by key and joined by line feeds. The sandbox holds the
bot's token, so it signs exactly as Telegram would, for the simulated user who tapped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

WEB_APP_VERSION = "8.0"


def init_data(user: dict[str, Any], bot_token: str, auth_date: int | None = None) -> str:
    """The query string Telegram hands a Mini App opened by ``user`` (a Bot API User)."""
    pairs = {
        "query_id": "AA" + secrets.token_urlsafe(16),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }
    check = "\n".join(f"{key}={pairs[key]}" for key in sorted(pairs))
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    pairs["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(pairs, quote_via=quote)


def launch_url(url: str, data: str) -> str:
    """The address the web view opens: the button's, with the launch parameters."""
    base = url.split("#", 1)[0]
    fragment = urlencode({"tgWebAppData": data, "tgWebAppVersion": WEB_APP_VERSION,
                          "tgWebAppPlatform": "sandbox"}, quote_via=quote)
    return f"{base}#{fragment}"
