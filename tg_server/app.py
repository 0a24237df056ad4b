"""The application factory: `create_app(settings)` wires storage, executors, routes and
middlewares. Tests call it directly or run the CLI, which calls it too."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from tg_core.config import database_path, ensure_token
from tg_core.storage import Storage

from . import middleware, openapi
from .api import buckets, categories, export, info, query, reports, settings as settings_api
from .auth import SESSION_COOKIE, SESSION_TTL, Authenticator
from .context import EXECUTORS, MEMO, SETTINGS, STORAGE, Executors, ServerSettings

log = logging.getLogger("tg_server")
WEB_DIR = Path(__file__).parent / "web"

pages = web.RouteTableDef()


@pages.get("/login")
async def login(request: web.Request) -> web.Response:
    """Redeem a one-time code (from `tg-server open` or the tray): set the session cookie."""
    auth = request.app[middleware.AUTHENTICATOR]
    if not auth.redeem_login_code(request.query.get("code")):
        return web.Response(status=403, content_type="text/html", text=(
            "<!doctype html><title>TimelyGator</title><p>This login link is invalid, expired or "
            "already used. Run <code>tg-server open</code> or use the tray menu for a new one.</p>"))
    response = web.HTTPFound("/")
    response.set_cookie(SESSION_COOKIE, auth.new_session(), max_age=SESSION_TTL, httponly=True,
                        samesite="Strict", path="/")
    raise response


@pages.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    page = WEB_DIR / "index.html"
    if page.exists():
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
    return web.Response(text="TimelyGator is running. The API is under /api/0/.")


async def _storage_ctx(app: web.Application):
    settings = app[SETTINGS]
    app[EXECUTORS] = Executors.create()
    storage = Storage(database_path(settings.data_dir, settings.testing))
    app[STORAGE] = storage
    yield
    app[EXECUTORS].shutdown()
    storage.close()


def create_app(settings: ServerSettings) -> web.Application:
    """Build the server for `settings`; the database opens when the app starts."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[
        middleware.errors_middleware, middleware.security_middleware])
    app[SETTINGS] = settings
    app[MEMO] = {}
    app[middleware.AUTHENTICATOR] = Authenticator(ensure_token(settings.config_dir))
    middleware.configure_origins(app)
    if settings.auth == "none":
        log.warning("auth = \"none\": any local program or user can read and write your data "
                    "through the API")
    app.cleanup_ctx.append(_storage_ctx)
    # Heartbeats are most requests and aiohttp matches resources in order: buckets first.
    for module in (buckets, info, export, query, settings_api, reports, categories, openapi):
        app.add_routes(module.routes)
    app.add_routes(pages)
    if WEB_DIR.is_dir():
        app.router.add_static("/static/", WEB_DIR, follow_symlinks=False)
    return app

