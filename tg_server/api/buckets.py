"""ActivityWatch's bucket, event and heartbeat endpoints, plus TimelyGator's batch heartbeats."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from tg_core.errors import BadRequest, TGError
from tg_core.event import Event, row_from_json
from tg_core.heartbeat import parse_pulsetime
from tg_core.storage import Storage

from ..context import SETTINGS, STORAGE, run_db, run_write
from ..http import json_response, parse_json, path_int, query_int, query_timestamp, read_json

routes = web.RouteTableDef()
# Heartbeat and event bodies up to this size (~1,700 window events, ~10 ms of work) are handled
# on the event loop when no write is running: the hop to the writer thread cost ~0.4 ms a
# request, and the loop waits about as long for a write there anyway, since its Python work
# holds the GIL. Bigger ones, JSON parsing included, go to the writer thread.
INLINE_BODY = 256 * 1024


# The ingest endpoints, each from its query and raw body to its JSON answer, synchronous: the
# routes below run them through run_write, and tg_server.ingest runs them directly.

def merge_heartbeat(storage: Storage, bucket_id: str, query: Mapping[str, str], body: bytes) -> dict:
    """One heartbeat merged into the bucket's last event (?pulsetime=seconds is required)."""
    pulsetime = parse_pulsetime(query.get("pulsetime"))
    return storage.heartbeat(bucket_id, Event.from_json(parse_json(body)), pulsetime).to_json()


def merge_heartbeats(storage: Storage, bucket_id: str, query: Mapping[str, str], body: bytes) -> dict:
    """A batch of heartbeats, merged in order in one transaction (all or nothing)."""
    pulsetime = parse_pulsetime(query.get("pulsetime"))
    body = parse_json(body)
    if not isinstance(body, list):
        raise BadRequest("expected a JSON list of heartbeats", code="invalid_event")
    events = [Event.from_json(obj) for obj in body]
    last = storage.heartbeats(bucket_id, events, pulsetime)
    return {"count": len(events), "last": last.to_json() if last else None}


def insert_events(storage: Storage, bucket_id: str, query: Mapping[str, str], body: bytes):
    """Events inserted, all or nothing; one event answers with the stored event (as
    ActivityWatch), a list with null."""
    events = parse_json(body)
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list):
        raise BadRequest("expected an event object or a list of events", code="invalid_event")
    if len(events) == 1:
        return storage.insert_events(bucket_id, [Event.from_json(events[0])])[0].to_json()
    # No Event objects for a list: its events go in as rows, and nothing comes back.
    storage.insert_rows(bucket_id, [row_from_json(obj) for obj in events])
    return None


# By the last segment of their path (POST /api/0/buckets/{bucket_id}/...).
INGEST_ROUTES = {"heartbeat": merge_heartbeat, "heartbeats": merge_heartbeats,
                 "events": insert_events}


async def _ingest(request: web.Request, handler) -> web.Response:
    body = await request.read()
    return json_response(await run_write(request, handler, _storage(request),
                                         request.match_info["bucket_id"], request.query, body,
                                         small=len(body) <= INLINE_BODY))


@routes.post("/api/0/buckets/{bucket_id}/heartbeat")
async def heartbeat(request: web.Request) -> web.Response:
    """Merge one heartbeat into the bucket's last event (?pulsetime=seconds is required)."""
    return await _ingest(request, merge_heartbeat)


@routes.post("/api/0/buckets/{bucket_id}/heartbeats")
async def heartbeats(request: web.Request) -> web.Response:
    """TimelyGator's batch: a list of heartbeats merged in order, in one transaction.

    Answers {"count": N, "last": event}; a batch with any invalid heartbeat stores nothing.
    """
    return await _ingest(request, merge_heartbeats)


@routes.post("/api/0/buckets/{bucket_id}/events")
async def post_events(request: web.Request) -> web.Response:
    """Insert one event or a list; all or nothing. One event answers with it, as ActivityWatch."""
    return await _ingest(request, insert_events)


def _storage(request):
    return request.app[STORAGE]


def _string_field(body: dict, name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"bucket field {name!r} must be a non-empty string", code="invalid_bucket")
    return value


@routes.get("/api/0/buckets/")
@routes.get("/api/0/buckets")
async def list_buckets(request: web.Request) -> web.Response:
    """All buckets, keyed by id."""
    return json_response(await run_db(request, _storage(request).buckets))


@routes.get("/api/0/buckets/{bucket_id}")
async def get_bucket(request: web.Request) -> web.Response:
    return json_response(await run_db(request, _storage(request).bucket, request.match_info["bucket_id"]))


@routes.post("/api/0/buckets/{bucket_id}")
async def create_bucket(request: web.Request) -> web.Response:
    """Create a bucket: 200 when created, 304 when it already exists (as ActivityWatch)."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object with type, client and hostname", code="invalid_bucket")
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest("bucket 'data' must be a JSON object", code="invalid_bucket")
    created = await run_write(
        request, _storage(request).create_bucket, request.match_info["bucket_id"],
        _string_field(body, "type"), _string_field(body, "client", "unknown"),
        _string_field(body, "hostname", "unknown"), body.get("created"), data)
    if not created:
        return web.Response(status=304)
    return json_response({})


@routes.put("/api/0/buckets/{bucket_id}")
async def update_bucket(request: web.Request) -> web.Response:
    """Change a bucket's type, client, hostname or data."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object", code="invalid_bucket")
    fields = {}
    for name in ("type", "client", "hostname"):
        if name in body:
            fields[name] = _string_field(body, name)
    if "data" in body:
        if not isinstance(body["data"], dict):
            raise BadRequest("bucket 'data' must be a JSON object", code="invalid_bucket")
        fields["data"] = body["data"]
    await run_write(request, _storage(request).update_bucket, request.match_info["bucket_id"], **fields)
    return json_response({})


@routes.delete("/api/0/buckets/{bucket_id}")
async def delete_bucket(request: web.Request) -> web.Response:
    """Delete a bucket and its events; outside --testing this needs ?force=1 (as ActivityWatch)."""
    if not request.app[SETTINGS].testing and request.query.get("force") != "1":
        raise TGError("deleting a bucket deletes all its events: add ?force=1 to confirm",
                      code="delete_requires_force", status=401)
    await run_write(request, _storage(request).delete_bucket, request.match_info["bucket_id"])
    return json_response({})


@routes.get("/api/0/buckets/{bucket_id}/events")
async def get_events(request: web.Request) -> web.Response:
    """Events newest first; ?start=&end= (ISO 8601) crop to a range, ?limit=N keeps the newest N."""
    events = await run_db(request, _storage(request).get_events, request.match_info["bucket_id"],
                          query_timestamp(request, "start"), query_timestamp(request, "end"),
                          query_int(request, "limit", -1), newest_first=True)
    return json_response([ev.to_json() for ev in events])


@routes.get("/api/0/buckets/{bucket_id}/events/count")
async def count_events(request: web.Request) -> web.Response:
    count = await run_db(request, _storage(request).count_events, request.match_info["bucket_id"],
                         query_timestamp(request, "start"), query_timestamp(request, "end"))
    return json_response(count)


@routes.get("/api/0/buckets/{bucket_id}/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    event = await run_db(request, _storage(request).get_event, request.match_info["bucket_id"],
                         path_int(request, "event_id"))
    return json_response(event.to_json())


@routes.delete("/api/0/buckets/{bucket_id}/events/{event_id}")
async def delete_event(request: web.Request) -> web.Response:
    await run_write(request, _storage(request).delete_event, request.match_info["bucket_id"],
                    path_int(request, "event_id"))
    return json_response({"success": True})
