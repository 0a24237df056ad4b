"""Request parsing and JSON responses shared by every API module."""

from __future__ import annotations

import codecs
import json

from aiohttp import web

from tg_core.errors import BadRequest, TGError
from tg_core.jsonenc import compact_encoder
from tg_core.event import parse_timestamp


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


# One encoder and one decoder for every request: json.dumps and json.loads with options build
# a new one per call, a few microseconds that add up on heartbeats.
dumps = compact_encoder()
_decode = json.JSONDecoder(parse_constant=_reject_constant).decode

try:  # optional: reads a bulk insert in ~1.2 µs an event, digit check included, instead of 2.2
    from orjson import JSONDecodeError as _FastDecodeError, loads as _fast_loads
except ImportError:
    _fast_loads = None
# orjson reads an integer beyond 64 bits as a float; json keeps it exact. Bodies with 19 digits
# in a row (such an integer, or any other text) are left to json.
_DIGITS_AS_NINES = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"9" * 19


def json_response(obj, status: int = 200, headers=None) -> web.Response:
    return web.Response(text=dumps(obj), status=status, content_type="application/json",
                        headers=headers)


def error_response(err: TGError) -> web.Response:
    return json_response(err.to_json(), status=err.status)


async def read_json(request: web.Request):
    """The request body as JSON. Malformed JSON (or NaN/Infinity) is a 400."""
    return parse_json(await request.read())


def parse_json(body: bytes):
    """A request body as JSON, or a 400 saying what is wrong. Like json.loads it accepts
    UTF-8 with or without a BOM, and UTF-16/32."""
    if not body:
        raise BadRequest("the request body is empty: expected JSON", code="invalid_json")
    if _fast_loads is not None and _LONG_DIGIT_RUN not in body.translate(_DIGITS_AS_NINES):
        try:
            return _fast_loads(body)
        except _FastDecodeError:
            pass  # json decides, with its messages; it also reads a BOM, UTF-16, lone surrogates
    try:
        try:  # not the utf-8-sig codec: it is written in Python, 2 µs a heartbeat
            text = body[3:].decode() if body.startswith(codecs.BOM_UTF8) else body.decode()
        except UnicodeDecodeError:
            text = body.decode(json.detect_encoding(body), "surrogatepass")
        return _decode(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"the request body is not valid JSON: {exc}", code="invalid_json") from None


def query_timestamp(request: web.Request, name: str):
    """An optional ISO 8601 query parameter as an aware UTC datetime."""
    value = request.query.get(name)
    return parse_timestamp(value) if value else None


INT_LIMIT = 2**53  # SQLite and JavaScript both hold these exactly


def _parse_int(value: str, name: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not minimum <= number < INT_LIMIT:
        raise BadRequest(f"invalid {name} {value!r}: expected an integer from {minimum} to "
                         f"{INT_LIMIT - 1}", code=f"invalid_{name}")
    return number


def query_int(request: web.Request, name: str, default: int | None = None,
              minimum: int = -1) -> int | None:
    """An optional integer query parameter (ActivityWatch uses -1 for "no limit")."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    return _parse_int(value, name, minimum)


def path_int(request: web.Request, name: str) -> int:
    return _parse_int(request.match_info[name], name, 0)
