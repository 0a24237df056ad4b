"""ActivityWatch's query2 endpoint."""

from __future__ import annotations

from aiohttp import web

from tg_core.errors import BadRequest

from ..context import STORAGE, run_db
from ..http import json_response, read_json

routes = web.RouteTableDef()


@routes.post("/api/0/query/")
@routes.post("/api/0/query")
async def query(request: web.Request) -> web.Response:
    """Run a query2 program over each time period: {"timeperiods": [...], "query": [...]}."""
    from tg_core.query2 import run_query

    body = await read_json(request)
    if not isinstance(body, dict) or "query" not in body or "timeperiods" not in body:
        raise BadRequest('expected {"timeperiods": ["start/end", ...], "query": ["...;", ...]}',
                         code="invalid_query")
    name = request.query.get("name", "")
    result = await run_db(request, run_query, request.app[STORAGE], body["query"], body["timeperiods"], name)
    return json_response(result)
