"""The pages' shared security: who the client is for rate limits, and CSRF tokens."""

from __future__ import annotations

from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from handlers.deps import Deps
from handlers.web.security import WEB, WebDeps, client_address, csrf_token
from storage.uow import Database


def request(trust: bool, headers: dict[str, str] | None = None,
            cookies: str | None = None) -> web.Request:
    app = web.Application()
    app[WEB] = WebDeps(Deps(db=mock.Mock(spec=Database), secret=b"s" * 32,
                            catalog=mock.Mock()), "1:t", trust_forwarded_for=trust)
    transport = mock.Mock()
    transport.get_extra_info.return_value = ("10.0.0.1", 4242)
    all_headers = dict(headers or {})
    if cookies:
        all_headers["Cookie"] = cookies
    return make_mocked_request("GET", "/", headers=all_headers, app=app, transport=transport)


def test_the_client_is_the_peer_unless_a_trusted_proxy_forwards_it() -> None:
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    assert client_address(request(False, forwarded)) == "10.0.0.1"
    # The proxy appends the address it saw; what the client claimed before it is ignored.
    assert client_address(request(True, forwarded)) == "203.0.113.9"
    assert client_address(request(True)) == "10.0.0.1"


def test_csrf_tokens_belong_to_one_browser() -> None:
    req = request(False)
    one, two = csrf_token(req, "s:session-one"), csrf_token(req, "s:session-two")
    assert one != two and len(one) == 64
    assert csrf_token(req, "s:session-one") == one
