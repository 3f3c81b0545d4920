"""The dashboard's HTTP server, in the bot process: built with the Application and started
and stopped with it (its ``post_init`` and ``post_stop``).

The pages are ``handlers.web``'s; this wires them to aiohttp and Jinja2, listens on
``web.host``/``web.port`` and tells the chat handlers the address to link to (``web.public_url``,
or the address it listens on), and whether Telegram can open it as a Mini App (``web_app``
buttons take https addresses only; the sandbox opens any).

The same server carries the operator's addresses (``bot.ops``) and, in webhook mode,
Telegram's posts (``bot.webhook``); with ``web.enabled`` off it serves only those.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

import aiohttp_jinja2
import jinja2
from aiohttp import web
from telegram import Bot

from bot.settings import ConfigError, WebSection
from handlers.deps import Deps
from handlers.web import FILTERS, STATIC_DIR, TEMPLATES_DIR, cadres, campaigns, exports
from handlers.web.cases import routes as cases_routes
from handlers.web.fragments import FRAGMENTS, PUBLIC_PAGES, Fragments
from handlers.web.pages import errors_middleware, refused_csrf, routes
from handlers.web.public import routes as public_routes
from handlers.web.security import WEB, WebDeps, headers_middleware
from handlers.web.supervision import routes as supervision_routes

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_web_app(web_deps: WebDeps, not_forms: Collection[str] = ()) -> web.Application:
    app = web.Application(middlewares=[headers_middleware(refused_csrf, not_forms),
                                       errors_middleware],
                          client_max_size=64 * 1024)
    app[WEB] = web_deps
    app[FRAGMENTS] = Fragments()
    app[PUBLIC_PAGES] = Fragments(max_chars=32 * 1024 * 1024)
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html",), default=True),
        undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    app.router.add_routes(routes())
    app.router.add_routes(exports.routes())
    app.router.add_routes(supervision_routes())
    app.router.add_routes([*campaigns.routes(), *cadres.routes()])
    app.router.add_routes(public_routes())
    app.router.add_routes(cases_routes())
    app.router.add_static("/static", STATIC_DIR, show_index=False)
    return app


class WebServer:
    """Listens while the Application runs; ``deps.web_url`` is set while it does."""

    def __init__(self, section: WebSection, deps: Deps, bot_token: str, sandbox: bool,
                 bot: Bot | None = None, *, pages: bool = True,
                 routes: Sequence[web.RouteDef] = (), posts: Mapping[str, Handler] | None = None,
                 reuse_port: bool = False) -> None:
        self.section = section
        self.deps = deps
        self.sandbox = sandbox
        self.pages = pages
        self.reuse_port = reuse_port
        self.port: int | None = None
        posts = posts or {}
        if pages:
            self.app = build_web_app(
                WebDeps(deps, bot_token, section.init_data_max_age_s, section.secure,
                        section.trust_forwarded_for, bot), not_forms=frozenset(posts))
        else:
            self.app = web.Application(client_max_size=64 * 1024)
        self.app.router.add_routes(routes)
        for path, handler in posts.items():
            self.app.router.add_post(path, handler)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # No access log: a sign-in link's token is in its path.
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        # Several workers listen on one port, the kernel spreading connections among them.
        site = web.TCPSite(runner, self.section.host, self.section.port,
                           reuse_port=self.reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"web.port: cannot listen on {self.section.host}:{self.section.port} "
                f"({exc.strerror}); stop what uses it or choose another port in config.yaml"
            ) from exc
        self._runner = runner
        port = self.section.port
        server = site._server  # the bound port, when 0 asked for any free one
        sockets = getattr(server, "sockets", None)
        if sockets:
            port = sockets[0].getsockname()[1]
        url = self.section.public_url or f"http://{self.section.host}:{port}"
        self.port = port
        if not self.pages:
            log.info("listening at http://%s:%s (webhook and metrics; the dashboard is off)",
                     self.section.host, port)
            return
        self.deps.web_url = url
        self.deps.web_app = self.sandbox or url.startswith("https://")
        if not self.deps.web_app:
            log.warning("dashboard at %s: Telegram opens Mini Apps from https addresses only; "
                        "set web.public_url to the https address that reaches it to get the "
                        "reports' buttons", url)
        log.info("dashboard listening at %s", url)

    async def stop(self) -> None:
        self.deps.web_url = None
        self.deps.web_app = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
