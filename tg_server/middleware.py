"""Cross-cutting request handling: errors as JSON, then security: Host and Origin checks,
CORS, content type and auth.

Order matters: errors wrap everything; the Host check comes first (DNS rebinding: a foreign
name pointing at 127.0.0.1); then Origin/CORS, since preflights carry no credentials; then
the content-type rule and the token.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from tg_core.errors import TGError

from .auth import SESSION_COOKIE, Authenticator
from .context import SETTINGS
from .http import error_response

log = logging.getLogger("tg_server")

AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
OPEN_PATHS = {"/api/0/health", "/login"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
MULTIPART_PATHS = {"/api/0/import"}  # aw-webui uploads its export as a form


def _error(status: int, code: str, message: str) -> web.Response:
    return error_response(TGError(message, code=code, status=status))


@web.middleware
async def errors_middleware(request: web.Request, handler):
    """Render TGError and aiohttp's HTTP errors as JSON; never leak a traceback."""
    try:
        return await handler(request)
    except TGError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_") if exc.reason else "http_error"
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        return _error(exc.status, code, message or exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return _error(500, "internal", "internal error; see the server log")


def hostname(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


ALLOWED_HOSTS = web.AppKey("allowed_hosts", set)
ALLOWED_ORIGINS = web.AppKey("allowed_origins", set)
CORS_ORIGINS = web.AppKey("cors_origins", set)


def configure_origins(app: web.Application) -> None:
    """Work out, once, which Host names and Origins this server accepts."""
    settings = app[SETTINGS]
    hosts = set(LOOPBACK_NAMES)
    if settings.host not in ("0.0.0.0", "::", ""):
        hosts.add(settings.host.lower())
    own = {f"http://{h}:{settings.port}" for h in hosts}
    extensions = {f"{scheme}://{ext_id}" for ext_id in settings.extension_ids
                  for scheme in ("chrome-extension", "moz-extension")}
    app[ALLOWED_HOSTS] = hosts
    app[CORS_ORIGINS] = extensions
    app[ALLOWED_ORIGINS] = own | extensions


def _cors_headers(origin: str) -> dict:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600"}


def _host_problem(request: web.Request) -> web.Response | None:
    """Any Host header that is not a loopback name is refused (DNS-rebinding defence)."""
    host = request.headers.get("Host")
    if not host or hostname(host) not in request.app[ALLOWED_HOSTS]:
        return _error(400, "invalid_host", "the Host header must be a loopback name "
                      "(localhost or 127.0.0.1)")
    return None


def _origin_problem(request: web.Request, origin: str, is_extension: bool) -> web.Response | None:
    """A browser's Origin must be ours or an allowed extension's; preflights only for
    extensions (they carry no credentials, so they are answered here)."""
    if origin not in request.app[ALLOWED_ORIGINS]:
        return _error(403, "forbidden_origin", f"requests from origin {origin!r} are not allowed")
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if not is_extension:
            return _error(403, "forbidden_origin", "cross-origin requests are only allowed for "
                          "the TimelyGator browser extension")
        return web.Response(status=204, headers=_cors_headers(origin))
    return None


def _auth_problem(request: web.Request) -> web.Response | None:
    """API requests need the token (or the dashboard's session cookie), and state-changing
    ones a JSON body, so a foreign page cannot send them without a preflight."""
    path = request.path
    if not path.startswith("/api/") or path in OPEN_PATHS:
        return None
    if request.method in STATE_CHANGING and request.body_exists:
        allowed = {"application/json"} | ({"multipart/form-data"} if path in MULTIPART_PATHS else set())
        if request.content_type not in allowed:
            return _error(415, "unsupported_media_type",
                          "send the request body as JSON (Content-Type: application/json)")
    if request.app[SETTINGS].auth == "none":
        return None
    auth = request.app[AUTHENTICATOR]
    if auth.bearer_ok(request.headers.get("Authorization")) or \
            auth.session_ok(request.cookies.get(SESSION_COOKIE)):
        return None
    response = _error(401, "unauthorized", "missing or wrong API token: send 'Authorization: "
                      "Bearer <token>' (the token is the file api_token in TimelyGator's config "
                      "directory)")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


@web.middleware
async def security_middleware(request: web.Request, handler):
    """Host, then Origin/CORS, then content type and token: one middleware, since each layer
    costs a coroutine per request and heartbeats are many small requests."""
    problem = _host_problem(request)
    origin = request.headers.get("Origin")
    is_extension = origin is not None and origin in request.app[CORS_ORIGINS]
    if problem is None and origin is not None:
        problem = _origin_problem(request, origin, is_extension)
    if problem is None:
        problem = _auth_problem(request)
    if problem is not None:
        return problem
    response = await handler(request)
    if is_extension:
        response.headers.update(_cors_headers(origin))
    return response
