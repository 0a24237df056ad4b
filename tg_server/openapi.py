"""The OpenAPI document at /api/0/openapi.json, generated from the routes themselves.

Every route the app serves is listed with its summary (the handler's docstring); the table
below adds parameters and bodies for the ActivityWatch endpoints, so the document cannot
silently miss an endpoint that exists.
"""

from __future__ import annotations

import inspect
import re

from aiohttp import web

import tg_core

from .http import json_response

routes = web.RouteTableDef()

ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]}}}
EVENT = {"type": "object", "required": ["timestamp"], "properties": {
    "id": {"type": "integer"}, "timestamp": {"type": "string", "format": "date-time"},
    "duration": {"type": "number", "minimum": 0}, "data": {"type": "object"}}}
PULSETIME = {"name": "pulsetime", "in": "query", "required": True, "schema": {"type": "number", "minimum": 0}}
RANGE = [{"name": n, "in": "query", "schema": {"type": "string", "format": "date-time"}} for n in ("start", "end")]
BODIES = {
    ("POST", "/api/0/buckets/{bucket_id}"): {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "client": {"type": "string"}, "hostname": {"type": "string"},
        "data": {"type": "object"}}},
    ("POST", "/api/0/buckets/{bucket_id}/events"): {"oneOf": [EVENT, {"type": "array", "items": EVENT}]},
    ("POST", "/api/0/buckets/{bucket_id}/heartbeat"): EVENT,
    ("POST", "/api/0/buckets/{bucket_id}/heartbeats"): {"type": "array", "items": EVENT},
    ("POST", "/api/0/query/"): {"type": "object", "required": ["timeperiods", "query"], "properties": {
        "timeperiods": {"type": "array", "items": {"type": "string"}},
        "query": {"type": "array", "items": {"type": "string"}}}},
    ("POST", "/api/0/import"): {"type": "object", "required": ["buckets"], "properties": {
        "buckets": {"type": "object"}}},
    ("POST", "/api/0/settings/{key}"): {},
}
PARAMS = {
    ("POST", "/api/0/buckets/{bucket_id}/heartbeat"): [PULSETIME],
    ("POST", "/api/0/buckets/{bucket_id}/heartbeats"): [PULSETIME],
    ("GET", "/api/0/buckets/{bucket_id}/events"): RANGE + [
        {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
    ("GET", "/api/0/buckets/{bucket_id}/events/count"): RANGE,
    ("DELETE", "/api/0/buckets/{bucket_id}"): [
        {"name": "force", "in": "query", "schema": {"type": "string", "enum": ["1"]}}],
}


def build_document(app: web.Application) -> dict:
    """OpenAPI 3.1 for every /api/ route registered on `app`."""
    paths: dict[str, dict] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path")
        if not path or not path.startswith("/api/") or route.method in ("HEAD", "OPTIONS"):
            continue
        doc = inspect.getdoc(route.handler) or route.handler.__name__.replace("_", " ")
        op = {"summary": doc.splitlines()[0], "description": doc, "operationId":
              f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
              "responses": {"200": {"description": "OK"},
                            "4XX": {"description": "Client error", "content": {
                                "application/json": {"schema": ERROR}}}}}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", path)] + PARAMS.get((route.method, path), [])
        if params:
            op["parameters"] = params
        if (route.method, path) in BODIES:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": BODIES[(route.method, path)]}}}
        if path not in ("/api/0/health",):
            op["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": "TimelyGator API", "version": tg_core.__version__, "description":
                     "ActivityWatch's REST API (/api/0) plus TimelyGator's own endpoints."},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "tg_session"}}},
            "paths": dict(sorted(paths.items()))}


@routes.get("/api/0/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """This document."""
    return json_response(build_document(request.app))
