"""The direct path for ingest: aiohttp's connection handler, plus a shortcut for the
requests watchers and importers send most.

A watcher posts a heartbeat every second or so, and aiohttp's request and response objects
cost ~120 µs of CPU per request, several times a heartbeat's own work (bench/RESULTS.md). So
each connection first frames requests itself: a complete, plain, authorised POST of
heartbeats or events (`/api/0/buckets/{id}/heartbeat`, `.../heartbeats`, `.../events`: see
api.buckets.INGEST_ROUTES) is answered right here, by the same function the aiohttp route
calls. Everything else, and anything unusual about such a request (a browser Origin, a
cookie instead of the token, a bad body, an unknown bucket, a busy writer, access logging
on), is handed to aiohttp byte for byte, which answers it as it answers any request, errors
included. So this module only ever produces 200s, and no rule (Host, Origin, token, content
type, validation) lives in two places with two outcomes: when in doubt it passes it on.

Framing is kept deliberately narrow: HTTP/1.1 with CRLF line ends and Content-Length bodies.
A connection that sends anything else (chunked bodies, bare LF, HTTP/1.0, an upgrade, an
oversized head) is aiohttp's alone from then on. Requests that are not shortcuts are passed
on whole (the head at once, the body as it arrives), so aiohttp's parser only ever sees
whole requests, and a shortcut is taken only while aiohttp has nothing in progress on the
connection, so answers keep their order."""

from __future__ import annotations

import logging
import re
import time
from email.utils import formatdate

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.web_protocol import RequestHandler

from tg_core.errors import TGError

from . import middleware
from .api.buckets import INGEST_ROUTES, INLINE_BODY
from .context import SETTINGS, STORAGE
from .http import dumps

log = logging.getLogger("tg_server")

MAX_HEAD = 64 * 1024  # aiohttp's own limits (8 KiB lines, 128 headers) are well inside this
MAX_SHORTCUT_BODY = INLINE_BODY  # bigger bodies go through aiohttp to the writer thread
BUCKETS_PREFIX = "/api/0/buckets/"
# Header lines as framing reads them: a token name, a colon, printable ASCII (no obs-fold,
# no bytes beyond ASCII); a connection sending any other kind is left to aiohttp.
_HEADER_LINES = re.compile(rb"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e]*\r\n)*")
_HEADER = re.compile(rb"([^:]+):[ \t]*(.*?)[ \t]*\r\n")
_SAFE_TARGET = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]+")  # no %, no spaces, ASCII only
# Request headers after which aiohttp must see the request (each changes how it is answered).
_NOT_SHORTCUT = {b"origin", b"cookie", b"expect", b"content-encoding", b"upgrade"}


class IngestServer(web.Server):
    """aiohttp's low-level server whose connections take the ingest shortcut."""

    def __init__(self, app: web.Application, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def __call__(self) -> RequestHandler:
        return IngestProtocol(self, loop=self._loop, **self._kwargs)


class IngestRunner(web.AppRunner):
    """`web.AppRunner` serving the app through IngestServer."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()  # runs the app's startup and freezes it
        return IngestServer(self.app, server.request_handler, request_factory=server.request_factory,
                            loop=server._loop, **server._kwargs)


# The parts of aiohttp's RequestHandler the shortcut reads (tested with aiohttp 3.14). An
# aiohttp without them still works: every request then goes to aiohttp.
_HANDLER_STATE = ("_waiter", "_messages", "_logging_enabled", "_close", "_force_close",
                  "_next_keepalive_close_time", "_keepalive_timeout", "_loop")
SHORTCUT_POSSIBLE = all(any(name in getattr(cls, "__slots__", ()) for cls in RequestHandler.__mro__)
                        for name in _HANDLER_STATE)
if not SHORTCUT_POSSIBLE:
    log.warning("this aiohttp's connection handler is not the one tg_server.ingest knows: "
                "heartbeats take aiohttp's slower path")


class IngestProtocol(RequestHandler):
    """One connection: frames requests, answers plain ingest POSTs, passes the rest to aiohttp."""

    def __init__(self, manager: IngestServer, **kwargs):
        super().__init__(manager, **kwargs)
        app = manager.app
        self._storage = app[STORAGE]
        self._auth = app[middleware.AUTHENTICATOR]
        self._open_auth = app[SETTINGS].auth == "none"
        self._hosts = app[middleware.ALLOWED_HOSTS]
        self._pending = b""  # the start of a request whose head or short body is incomplete
        self._body_left = 0  # bytes of a passed-on request's body still to pass on
        self._aiohttp_only = not SHORTCUT_POSSIBLE
        self._accepted = (None, None, None)  # the last Host, Content-Type, Authorization let in

    def data_received(self, data: bytes) -> None:
        # b"" is aiohttp's own call (resume_reading) to feed its parser what it held back
        # while a big body's reader was full: it must reach aiohttp, whatever our state.
        if self._aiohttp_only or not data:
            super().data_received(data)
            return
        if self._body_left:
            passed = data[:self._body_left]
            self._body_left -= len(passed)
            super().data_received(passed)
            data = data[len(passed):]
        if self._pending:
            data = self._pending + data
            self._pending = b""
        while data and not self._aiohttp_only and not self._body_left:
            data = self._next_request(data)

    def _next_request(self, data: bytes) -> bytes:
        """Handle or pass on the request at the start of `data`; returns what follows it."""
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            if len(data) > MAX_HEAD or b"\n\n" in data or b"\n\r\n" in data:
                self._give_up(data)
            else:
                self._pending = data
            return b""
        line_end = data.find(b"\r\n")
        try:
            method, target, version = data[:line_end].decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            self._give_up(data)
            return b""
        headers = None
        if _HEADER_LINES.fullmatch(data, line_end + 2, head_end + 2):
            pairs = _HEADER.findall(data, line_end + 2, head_end + 2)
            headers = {name.lower(): value for name, value in pairs}
        length_text = headers.get(b"content-length", b"0") if headers else b"0"
        if (headers is None or len(headers) < len(pairs)  # odd bytes or a repeated header
                or version != "HTTP/1.1" or b"transfer-encoding" in headers
                or b"upgrade" in headers or not length_text.isdigit()):
            self._give_up(data)
            return b""
        body_start, length = head_end + 4, int(length_text)
        if (length <= MAX_SHORTCUT_BODY and method == "POST" and target.startswith(BUCKETS_PREFIX)
                and _NOT_SHORTCUT.isdisjoint(headers)):  # e.g. Expect: the client waits for us
            if len(data) < body_start + length:
                self._pending = data  # wait for the whole (small) body
                return b""
            request_end = body_start + length
            answer = self._shortcut(target, headers, data[body_start:request_end])
            if answer is not None:
                self.transport.write(answer)
                return data[request_end:]
            super().data_received(data[:request_end])
            return data[request_end:]
        request_end = min(len(data), body_start + length)
        self._body_left = body_start + length - request_end
        super().data_received(data[:request_end])
        return data[request_end:]

    def _give_up(self, data: bytes) -> None:
        """From now on aiohttp alone reads this connection (and answers what it cannot parse)."""
        self._aiohttp_only = True
        super().data_received(data)

    def _shortcut(self, target: str, headers: dict, body: bytes) -> bytes | None:
        """The whole HTTP answer to an ingest request, or None to let aiohttp answer it."""
        path, _, query = target.partition("?")
        bucket_id, _, endpoint = path[len(BUCKETS_PREFIX):].partition("/")
        handler, params = INGEST_ROUTES.get(endpoint), _query(query)
        if (handler is None or params is None or not bucket_id or not _SAFE_TARGET.fullmatch(target)
                or not self._idle()
                or headers.get(b"connection", b"keep-alive").lower() != b"keep-alive"
                or not self._allowed(headers)):
            return None
        lock = self._storage.write_lock
        if not lock.acquire(blocking=False):  # a bulk write is running: aiohttp queues this one
            return None
        try:
            answer = handler(self._storage, bucket_id, params, body)
        except TGError:
            return None  # aiohttp answers with the error (nothing was stored)
        except Exception:  # noqa: BLE001 - aiohttp's route will meet it too and answer 4xx/500
            log.debug("ingest shortcut failed; passing the request on", exc_info=True)
            return None
        finally:
            lock.release()
        self._next_keepalive_close_time = self._loop.time() + self._keepalive_timeout
        payload = dumps(answer).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                b"Content-Length: %d\r\nDate: %s\r\nServer: %s\r\n\r\n"
                % (len(payload), _http_date(), SERVER_SOFTWARE.encode())) + payload

    def _idle(self) -> bool:
        """aiohttp is waiting for a request on this connection (so answers keep their order),
        and is not logging requests (the shortcut would not show in the access log)."""
        waiter = self._waiter
        return (waiter is not None and not waiter.done() and not self._messages
                and not self._logging_enabled and not self._close and not self._force_close)

    def _allowed(self, headers: dict) -> bool:
        """The checks tg_server.middleware makes, on their success path only. A connection
        sends the same Host, Content-Type and token each time: those are checked once."""
        host, content_type = headers.get(b"host"), headers.get(b"content-type")
        authorization = headers.get(b"authorization")
        if (host, content_type, authorization) == self._accepted:
            return True
        if host is None or content_type is None or \
                middleware.hostname(host.decode("latin-1")) not in self._hosts or \
                content_type.partition(b";")[0].strip().lower() != b"application/json":
            return False
        if not self._open_auth and (authorization is None or
                                    not self._auth.bearer_ok(authorization.decode("latin-1"))):
            return False
        self._accepted = (host, content_type, authorization)
        return True


def _query(query: str) -> dict[str, str] | None:
    """A query string without escapes (_SAFE_TARGET) as aiohttp reads it: the first of a
    repeated key wins. None when it has a "+", which aiohttp would read as a space."""
    if "+" in query:
        return None
    return dict(reversed([pair.partition("=")[::2] for pair in query.split("&") if pair]))


_date_cache = (0, "")


def _http_date() -> bytes:
    """The Date header's value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1].encode()
